"""Small indicators drawn in text, for table cells, headers and screens: a job's or a row's
status as a coloured symbol and word (`StatusBadge`), a progress bar (`██████░░░░  62%`), a
throughput sparkline (`▁▂▅█▇▃`, flat zeros stay flat), and the line saying the job store is out
of reach for a while (locked, restarting: `StoreTrouble`)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from exmado_tui.errors import StoreUnavailableError
from exmado_tui.job.status import Control, JobStatus, RowStatus

S = JobStatus
R = RowStatus

# symbol, label, Rich style — plain ANSI colour names so 256-colour terminals match.
LOOK: dict[JobStatus, tuple[str, str, str]] = {
    S.PENDING: ("○", "pending", "bright_black"),
    S.VALIDATING: ("◌", "validating", "cyan"),
    S.RUNNING: ("▶", "running", "bold cyan"),
    S.PAUSED: ("‖", "paused", "yellow"),
    S.COMPLETED: ("✔", "completed", "green"),
    S.COMPLETED_WITH_ERRORS: ("✔", "with errors", "dark_orange"),
    S.FAILED: ("✖", "failed", "bold red"),
    S.CANCELLED: ("⊘", "cancelled", "bright_black"),
}
REQUESTED = {
    Control.PAUSE: "pausing…",
    Control.CANCEL: "cancelling…",
    Control.TERMINATE: "terminating…",
}
# symbol, Rich style of a workbook row's status
ROW_LOOK: dict[RowStatus, tuple[str, str]] = {
    R.DONE: ("✔", "green"),
    R.NOT_FOUND: ("?", "yellow"),
    R.AMBIGUOUS: ("≈", "dark_orange"),
    R.FAILED: ("✖", "bold red"),
    R.SKIPPED: ("–", "bright_black"),
    R.PENDING: ("○", "bright_black"),
}


def status_text(status: JobStatus, control: Control | None = None) -> Text:
    """`▶ running`, or `▶ pausing…` while a pause request waits for the worker."""
    symbol, label, style = LOOK[status]
    if control and status.is_active:
        label = REQUESTED[control]
    return Text(f"{symbol} {label}", style=style)


def row_status_text(status: RowStatus) -> Text:
    """A workbook row's status: `✔ done`, `? not found`, …"""
    symbol, style = ROW_LOOK[status]
    return Text(f"{symbol} {status.label}", style=style)


def show_if_changed(static: Static, content: Text) -> None:
    """Update `static` only when `content` differs: an update costs a layout of the screen,
    and the refresh ticks every second mostly bring the same text again."""
    if static.content != content:
        static.update(content)


class StatusBadge(Static):
    """One job's status, updated with `show`."""

    DEFAULT_CSS = """
    StatusBadge { width: auto; padding: 0 1; }
    """

    def show(self, status: JobStatus, control: Control | None = None) -> None:
        show_if_changed(self, status_text(status, control))


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


BARS = "▁▂▃▄▅▆▇█"


def spark_text(values: Sequence[float], width: int = 30, style: str = "cyan") -> Text:
    """The last `width` values scaled to the largest; padded on the left with blanks."""
    shown = list(values)[-width:]
    top = max(shown, default=0.0)
    if top <= 0:
        return Text(" " * (width - len(shown)) + BARS[0] * len(shown), style="bright_black")
    bars = "".join(BARS[min(7, int(v / top * 7.999))] if v > 0 else " " for v in shown)
    return Text(" " * (width - len(shown)) + bars, style=style)


STORE_UNREACHABLE = "Cannot read the job store (trying again)"


def store_trouble(exc: StoreUnavailableError) -> Text:
    """One red line: what the database said first (a status line is one line high), then
    which store."""
    where = f" ({exc.store})" if exc.store else ""
    return Text(f"{STORE_UNREACHABLE}: {exc.reason}{where}", style="red")


class StoreTrouble(Static):
    """A red line shown only while the store cannot be read."""

    def on_mount(self) -> None:
        self.display = False

    def show(self, exc: StoreUnavailableError | None) -> None:
        """The trouble, or None once a read works again."""
        if exc is not None:
            self.update(store_trouble(exc))
        self.display = exc is not None
