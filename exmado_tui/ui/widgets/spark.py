"""A throughput sparkline drawn in text: `▁▂▅█▇▃` — flat zeros stay flat."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

BARS = "▁▂▃▄▅▆▇█"


def spark_text(values: Sequence[float], width: int = 30, style: str = "cyan") -> Text:
    """The last `width` values scaled to the largest; padded on the left with blanks."""
    shown = list(values)[-width:]
    top = max(shown, default=0.0)
    if top <= 0:
        return Text(" " * (width - len(shown)) + BARS[0] * len(shown), style="bright_black")
    bars = "".join(BARS[min(7, int(v / top * 7.999))] if v > 0 else " " for v in shown)
    return Text(" " * (width - len(shown)) + bars, style=style)
