"""A job status as a coloured symbol and word, for table cells and headers."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

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
