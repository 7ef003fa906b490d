"""A progress bar drawn in text, for table cells: `██████░░░░  62%`."""

from __future__ import annotations

from rich.text import Text

EIGHTHS = " ▏▎▍▌▋▊▉"


def progress_text(fraction: float, width: int = 10, style: str = "cyan") -> Text:
    fraction = min(1.0, max(0.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (EIGHTHS[part] if part and full < width else "")
    text = Text(bar, style=style)
    text.append("░" * (width - len(bar)), style="bright_black")
    text.append(f" {fraction:>4.0%}")
    return text
