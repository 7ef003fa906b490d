"""Small indicators drawn in text, for table cells, headers and screens: a job's or a row's
status as a coloured symbol and word (`StatusBadge`), a progress bar (`██████░░░░  62%`), a
throughput sparkline (`▁▂▅█▇▃`, flat zeros stay flat), the line saying the job store is out
of reach for a while (locked, restarting: `StoreTrouble`), and the header strip with Redis,
the queue, DocuWare and its request budget at a glance (`HealthStrip`)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from exmado_tui.errors import StoreUnavailableError
from exmado_tui.job.status import Control, JobStatus, RowStatus
from exmado_tui.ui.backend import DocuWareHealth, RedisHealth

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


class HealthStrip(Static):
    """One line of health facts; set `redis` and `docuware`, it redraws itself."""

    DEFAULT_CSS = """
    HealthStrip { height: 1; width: 1fr; background: $boost; padding: 0 1; }
    """

    redis: reactive[RedisHealth | None] = reactive(None)
    """Latest Redis ping and queue depth (None until the first check)."""
    docuware: reactive[DocuWareHealth] = reactive(DocuWareHealth(None))
    """Latest DocuWare check."""
    readonly: reactive[bool] = reactive(False)
    """Show the read-only badge."""

    def on_mount(self) -> None:
        """Follow the app's health facts (`redis_health`, `docuware_health`)."""
        self.readonly = bool(getattr(self.app, "readonly", False))
        if hasattr(self.app, "redis_health"):
            self.watch(self.app, "redis_health", self._set_redis)
            self.watch(self.app, "docuware_health", self._set_docuware)

    def _set_redis(self, health: RedisHealth | None) -> None:
        self.redis = health

    def _set_docuware(self, health: DocuWareHealth) -> None:
        self.docuware = health

    def render(self) -> Text:
        """The facts in full; when they do not fit, without the app's name and with the budget
        said briefly, cut at the end if still too long: the budget, so DocuWare's stay."""
        full = self._facts(brief=False)
        width = self.content_size.width
        if not width or full.cell_len <= width:  # no width: not laid out yet
            return full
        brief = self._facts(brief=True)
        brief.truncate(width, overflow="ellipsis")
        return brief

    def _facts(self, brief: bool) -> Text:
        parts = [] if brief else [Text("Éxmado", style="bold")]
        if self.readonly:
            parts.append(Text(" READ-ONLY ", style="bold reverse yellow"))
        parts += [self._redis_text(), self._docuware_text(), *self._budget_text(brief)]
        return Text("  ").join(parts)

    def _redis_text(self) -> Text:
        health = self.redis
        if health is None:
            return Text("Redis …", style="bright_black")
        if not health.reachable:
            return Text("Redis ✖ down", style="bold red")
        depth = health.depth
        text = Text("Redis ✔", style="green")
        if depth is not None:
            text.append(f"  queue {depth.ready}", style="")
            if depth.delayed:
                text.append(f" +{depth.delayed} delayed")
            if depth.dead:
                text.append(f"  dead {depth.dead}", style="red")
        return text

    def _budget_text(self, brief: bool) -> list[Text]:
        """The most throttled DocuWare request budget (none before Redis holds one): `budget
        17.5/50 req/s 429×3/5min cut 07:05`, brief without the 429s' window."""
        health = self.redis
        if health is None or not health.reachable or not health.budgets:
            return []
        budget = health.budgets[0]  # the most throttled one
        style = "yellow" if budget.throttled_5min else ""
        cap = f"/{budget.cap:g}" if budget.cap else ""
        window = "" if brief else "/5min"
        text = Text.assemble(
            (f"budget {budget.rate:.1f}{cap} req/s 429×{budget.throttled_5min}{window}", style)
        )
        if budget.last_cut is not None:
            text.append(" cut " + time.strftime("%H:%M", time.localtime(budget.last_cut)))
        return [text]

    def _docuware_text(self) -> Text:
        health = self.docuware
        if health.reachable is None:
            return Text("DocuWare …", style="bright_black")
        if not health.reachable:
            return Text("DocuWare ✖ unreachable", style="bold red")
        return Text(f"DocuWare ✔ {health.version}".rstrip(), style="green")
