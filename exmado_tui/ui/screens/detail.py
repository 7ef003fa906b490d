"""`JobDetailScreen`: one job — progress, throughput, rows, files, events, configuration, report."""

from __future__ import annotations

from collections import deque
from itertools import pairwise
from pathlib import Path

from rich.console import Console, Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import (
    Button,
    Label,
    RichLog,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from exmado_tui.errors import JobNotFoundError, StoreUnavailableError
from exmado_tui.formatting import local_time, size, visible
from exmado_tui.job.status import RowStatus
from exmado_tui.store.queries import (
    EventView,
    FileView,
    JobDetail,
    JobSummary,
    RowView,
    file_total,
    job_events,
    job_files,
    job_rows,
    row_files,
    row_total,
)
from exmado_tui.ui.app import (
    JOB_ACTION_BINDINGS,
    VERIFY_BINDING,
    HidesMutatingKeys,
    JobActionsMixin,
    VerifyActionMixin,
    exmado_app,
    verify_applies,
)
from exmado_tui.ui.keys import KeyFooter
from exmado_tui.ui.logic.jobs import (
    ACTIONS,
    config_facts,
    config_table,
    find_reports,
    rate_text,
    read_detail,
)
from exmado_tui.ui.logic.paths import FoldedPaths
from exmado_tui.ui.messages import JobActionSucceeded, JobDetailRefreshed
from exmado_tui.ui.modals import RowModal
from exmado_tui.ui.widgets.indicators import (
    StatusBadge,
    progress_text,
    row_status_text,
    show_if_changed,
    spark_text,
    store_trouble,
)
from exmado_tui.ui.widgets.paged_table import PagedTable

REFRESH_S = 1.0
SPARK_SAMPLES = 60
EVENTS_KEY = "3"  # the Events tab's
REASON_LINES = 3  # of a job's error in the summary; the Events tab has it whole
REASON_CUT = f" … whole in the Events tab ({EVENTS_KEY})"
ROW_COLUMNS = (
    ("row", "Row", 6),
    ("key", "Key", 18),
    ("status", "Status", 12),
    ("docs", "Docs", 4),
    ("attempts", "Tries", 5),
    ("error", "Error", None),
)
FILE_COLUMNS = (
    ("row", "Row", 6),
    ("doc", "Document", 10),
    ("size", "Size", 9),
    ("path", "Path", None),
)
TAB_FOCUS = {
    "rows": "#rows",
    "files": "#files",
    "events": "#events",
    "config": "#config-scroll",
    "report": "#report-scroll",
}


def row_cells(row: RowView) -> tuple[str | Text, ...]:
    """A row's cells; its key and error (from the workbook, DocuWare) with control characters
    visible: raw, an ESC would drive the terminal."""
    return (
        Text(str(row.row_number), justify="right"),
        visible(row.key),
        row_status_text(row.status),
        Text(str(row.documents), justify="right"),
        Text(str(row.attempts), justify="right"),
        Text(visible(row.error), style="red") if row.error else "",
    )


def first_lines(text: Text, console: Console, width: int) -> Text:
    """`text` wrapped at `width`, cut after `REASON_LINES` lines with `REASON_CUT` when
    longer (whole while the screen has no width yet)."""
    lines = text.wrap(console, width) if width > 0 else [text]
    if len(lines) <= REASON_LINES:
        return text
    last = lines[REASON_LINES - 1]
    last.rstrip()
    last.truncate(width - len(REASON_CUT))
    last.append(REASON_CUT, "dim")
    return Text("\n").join(lines[:REASON_LINES])


def file_cells(f: FileView) -> tuple[str | Text, ...]:
    """A file's cells; its name (made from a key) with control characters visible."""
    return (
        Text("-" if f.row_number is None else str(f.row_number), justify="right"),
        visible(f.document_id),
        Text(size(f.size), justify="right"),
        visible(f.path),
    )


class JobDetailScreen(HidesMutatingKeys, JobActionsMixin, VerifyActionMixin, Screen[None]):
    """A job in full. `t` cycles the row filter; enter on a row shows it whole; `v` verifies
    its files against its manifest (it has no button: at 80 columns Start leaves first)."""

    BINDINGS = [
        Binding("escape,backspace", "back", "Back"),
        *JOB_ACTION_BINDINGS,
        VERIFY_BINDING,
        Binding("t", "row_filter", "Row filter", show=False),
        Binding("1", "tab('rows')", "Rows tab", show=False),
        Binding("2", "tab('files')", "Files tab", show=False),
        Binding(EVENTS_KEY, "tab('events')", "Events tab", show=False),
        Binding("4", "tab('config')", "Config tab", show=False),
        Binding("5", "tab('report')", "Report tab", show=False),
    ]
    FOOTER_RANKS = ("back", "pause", "resume", "cancel_job", "retry", "delete", "verify")

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id
        self.job: JobDetail | None = None
        self.counts: dict[RowStatus, int] = {}
        self.row_filter: RowStatus | None = None  # None: every row
        self.last_event_id = 0
        self.samples: deque[tuple[float, int]] = deque(maxlen=SPARK_SAMPLES + 1)
        self.table_trouble: dict[str, StoreUnavailableError] = {}
        """Why the rows or files table cannot read the store just now, by table id."""
        self._loading = False
        self._shown_config: list[tuple[str, str]] = []

    # -- children ---------------------------------------------------------------------------

    @property
    def badge(self) -> StatusBadge:
        return self.query_one(StatusBadge)

    @property
    def summary(self) -> Static:
        return self.query_one("#summary", Static)

    @property
    def sparkline(self) -> Static:
        return self.query_one("#spark", Static)

    @property
    def rate_label(self) -> Static:
        return self.query_one("#rate", Static)

    @property
    def rows_table(self) -> PagedTable[RowView]:
        return self.query_one("#rows", PagedTable)

    @property
    def files_table(self) -> PagedTable[FileView]:
        return self.query_one("#files", PagedTable)

    @property
    def events_log(self) -> RichLog:
        return self.query_one("#events", RichLog)

    @property
    def row_filter_select(self) -> Select[RowStatus]:
        return self.query_one("#row-filter", Select)

    def compose(self) -> ComposeResult:
        with Horizontal(id="detail-title"):
            yield Label(f"Job {self.job_id[:8]}", id="job-title")
            yield StatusBadge()
        yield Static(id="summary")
        with Horizontal(id="throughput"):
            yield Static(id="spark")
            yield Static(id="rate")
        with Horizontal(id="job-actions"):
            for action in ACTIONS.values():
                yield Button(f"{action.label} ({action.key})", id=f"do-{action.name}", compact=True)
        with TabbedContent(id="tabs"):
            with TabPane("Rows", id="rows-tab"):
                yield Select(
                    [(s.label, s) for s in RowStatus],
                    prompt="all rows",
                    id="row-filter",
                    compact=True,
                )
                yield PagedTable(ROW_COLUMNS, row_cells, lambda r: str(r.row_number), id="rows")
            with TabPane("Files", id="files-tab"):
                yield PagedTable(FILE_COLUMNS, file_cells, _file_key, id="files")
            with TabPane("Events", id="events-tab"):
                yield RichLog(id="events", wrap=True, markup=False)
            with TabPane("Config", id="config-tab"), VerticalScroll(id="config-scroll"):
                yield Static(id="config")
            with TabPane("Report", id="report-tab"), VerticalScroll(id="report-scroll"):
                yield Static(id="report")
        yield KeyFooter()

    def on_mount(self) -> None:
        if exmado_app(self).readonly:
            self.query_one("#job-actions").display = False
        self.set_interval(REFRESH_S, self.refresh_job)
        self.refresh_job()
        self.run_worker(self._reload_rows())
        self.run_worker(self._reload_files())
        self.rows_table.focus()

    # -- loading ------------------------------------------------------------------------------

    async def _reload_rows(self) -> None:
        """The rows table from the top, through the row filter as it is now."""
        backend, job_id, status = exmado_app(self).backend, self.job_id, self.row_filter

        async def load(offset: int, limit: int) -> list[RowView]:
            return await backend.read(job_rows, job_id, status, limit, offset)

        async def count() -> int:
            return await backend.read(row_total, job_id, status)

        await self.rows_table.reload(load, count)

    async def _reload_files(self) -> None:
        backend, job_id = exmado_app(self).backend, self.job_id

        async def load(offset: int, limit: int) -> list[FileView]:
            return await backend.read(job_files, job_id, limit, offset)

        async def count() -> int:
            return await backend.read(file_total, job_id)

        await self.files_table.reload(load, count)

    def refresh_job(self) -> None:
        if self._loading or not self.is_current:
            return
        self._loading = True
        self.run_worker(self._load(), group="detail-refresh")

    async def _load(self) -> None:
        read = exmado_app(self).backend.read
        try:
            job, counts = await read(read_detail, self.job_id)
            self.counts = counts
            self.post_message(JobDetailRefreshed(job))
            events = await read(job_events, self.job_id, self.last_event_id, 500)
            self._append_events(events)
            await self.rows_table.refresh_visible()
            await self.files_table.refresh_visible()
            if self.query_one(TabbedContent).active == "report-tab":
                self._show_reports(await read(find_reports, job.output_dir))
        except JobNotFoundError:
            self.app.notify(f"Job {self.job_id[:8]} no longer exists.", severity="warning")
            self.action_back()
        except StoreUnavailableError as exc:  # locked, or the server restarting: try again
            self.summary.update(store_trouble(exc))
        except NoMatches:  # the screen was taken down (the app quitting) while this ran
            return
        finally:
            self._loading = False

    def on_job_detail_refreshed(self, message: JobDetailRefreshed) -> None:
        job, old = message.job, self.job
        self.job = job
        title = Text(f"Job {job.short_id}  {visible(job.name)}", "bold")
        show_if_changed(self.query_one("#job-title", Label), title)
        self.badge.show(job.status, job.control)
        self._show_summary(job)
        self._sample(job)
        if old is None or (old.status, old.control) != (job.status, job.control):
            # Redrawing the footer costs a layout: only when the actions that apply change.
            self._show_buttons(job)
            self.refresh_bindings()
        self._show_config(job)

    def _show_summary(self, job: JobDetail) -> None:
        text = progress_text(job.progress, width=24)
        text.append(f"  {job.done_rows}/{job.total_rows} rows\n")
        c = self.counts
        text.append(f"found {job.found_rows}", "green")
        text.append(f" · not found {job.not_found_rows}", "yellow" if job.not_found_rows else "")
        text.append(f" · ambiguous {job.ambiguous_rows}")
        text.append(f" · failed {job.failed_rows}", "red" if job.failed_rows else "")
        text.append(f" · skipped {job.skipped_rows} · pending {c.get(RowStatus.PENDING, 0)}")
        text.append(f" · files {job.files_count} ({size(job.bytes_downloaded)})")
        reason = job.last_error or job.wait_reason
        if reason:
            shown = Text(visible(reason), "red" if job.last_error else "dim")
            width = self.summary.content_region.width
            text.append("\n").append_text(first_lines(shown, self.app.console, width))
        for trouble in list(self.table_trouble.values())[:1]:  # on top: the summary is short
            text = Text.assemble(store_trouble(trouble), "\n", text)
        show_if_changed(self.summary, text)

    def _sample(self, job: JobDetail) -> None:
        """Rows finished per second between refreshes, for the sparkline and a recent rate;
        a finished job adds no samples (its sparkline stops) and shows its average."""
        moment = exmado_app(self).clock()
        now = moment.timestamp()
        learning = not job.status.is_final
        if learning and (not self.samples or now > self.samples[-1][0]):  # time passed
            self.samples.append((now, job.done_rows))
        pairs = list(self.samples)
        rates = [max(0.0, (b[1] - a[1]) / (b[0] - a[0])) for a, b in pairwise(pairs)]
        show_if_changed(self.sparkline, spark_text(rates, width=30))
        show_if_changed(self.rate_label, rate_text(job, moment))

    def _show_buttons(self, job: JobSummary) -> None:
        for action in ACTIONS.values():
            button = self.query_one(f"#do-{action.name}", Button)
            button.display = job.status in action.allowed

    def _append_events(self, events: list[EventView]) -> None:
        zone = exmado_app(self).settings.zone
        styles = {"warning": "yellow", "error": "red"}
        for event in events:
            line = Text(local_time(event.at, zone, "%m-%d %H:%M:%S") + "  ", style="dim")
            line.append(event.message, style=styles.get(event.level, ""))
            self.events_log.write(line)
            self.last_event_id = event.id

    def _show_config(self, job: JobDetail) -> None:
        """Rewrite the Config tab when what it shows changed (a retry: runs, finish time)."""
        facts = config_facts(job, exmado_app(self).settings.zone)
        if facts != self._shown_config:
            self._shown_config = facts
            self.query_one("#config", Static).update(config_table(facts, job.config))

    def _show_reports(self, paths: list[Path]) -> None:
        """The reports' paths, or the folder they will be in, each folded after a `/`."""
        report = self.query_one("#report", Static)
        if not paths:
            folder = visible(self.job.output_dir if self.job else "?")
            nothing = Text("No report or manifest yet in", style="dim")
            report.update(Group(nothing, FoldedPaths([folder], style="dim")))
            return
        report.update(FoldedPaths([visible(str(p)) for p in paths]))

    # -- interaction ---------------------------------------------------------------------------

    @on(Select.Changed, "#row-filter")
    def _row_filter_changed(self) -> None:
        self.row_filter = self.row_filter_select.selection
        self.run_worker(self._reload_rows())

    def action_row_filter(self) -> None:
        """Cycle all → done → not found → … → all."""
        order: list[RowStatus | None] = [None, *RowStatus]
        self.row_filter = order[(order.index(self.row_filter) + 1) % len(order)]
        select = self.row_filter_select
        with select.prevent(Select.Changed):
            select.value = self.row_filter or Select.NULL
        self._show_tab("rows")
        self.run_worker(self._reload_rows())

    def action_tab(self, tab: str) -> None:
        self._show_tab(tab)
        if tab == "report" and self.job is not None:
            self.run_worker(self._load_reports(self.job.output_dir))

    def _show_tab(self, tab: str) -> None:
        """Switch to a tab and focus what it shows: the focus left in the old pane would
        otherwise switch the tabs straight back (a focused pane activates itself)."""
        self.query_one(TabbedContent).active = f"{tab}-tab"
        self.query_one(TAB_FOCUS[tab]).focus()

    async def _load_reports(self, output_dir: str) -> None:
        self._show_reports(await exmado_app(self).backend.read(find_reports, output_dir))

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "report-tab" and self.job is not None:
            self.run_worker(self._load_reports(self.job.output_dir))

    @on(PagedTable.StoreTrouble)
    def _table_trouble(self, event: PagedTable.StoreTrouble) -> None:
        """A table could not read its next page or its rows on screen (it keeps them and tries
        again), or it can again."""
        table_id = event.table.id or ""
        if event.error is None:
            self.table_trouble.pop(table_id, None)
        else:
            self.table_trouble[table_id] = event.error
        if self.job is not None:
            self._show_summary(self.job)

    @on(PagedTable.RowSelected, "#rows")
    def _open_row(self) -> None:
        row = self.rows_table.current
        if row is not None:
            self.run_worker(self._show_row(row))

    async def _show_row(self, row: RowView) -> None:
        try:
            files = await exmado_app(self).backend.read(row_files, self.job_id, row.row_number)
        except StoreUnavailableError as exc:
            self.app.notify(str(exc), title=f"Row {row.row_number} not opened", severity="error")
            return
        self.app.push_screen(RowModal(row, files))

    @on(Button.Pressed, "#job-actions Button")
    async def _action_button(self, event: Button.Pressed) -> None:
        name = str(event.button.id).removeprefix("do-")
        await self.run_action({"cancel": "cancel_job"}.get(name, name))

    def target_jobs(self) -> list[JobSummary]:
        return [self.job] if self.job is not None else []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Job actions that do not apply in the job's state show dimmed and do nothing (in a
        read-only dashboard they are hidden: see `HidesMutatingKeys`)."""
        if not super().check_action(action, parameters):
            return False
        name = {"cancel_job": "cancel"}.get(action, action)
        if name == "verify":
            return verify_applies(self.job)
        if name in ACTIONS and self.job is not None:
            return True if self.job.status in ACTIONS[name].allowed else None
        return True

    def after_job_action(self, action: str) -> None:
        if action == "delete":
            self.action_back()
        else:
            self.refresh_job()

    def after_verify(self) -> None:
        self.refresh_job()

    def on_job_action_succeeded(self, message: JobActionSucceeded) -> None:
        if message.action != "delete":
            self.refresh_job()

    def action_back(self) -> None:
        if self.app.screen is self:
            self.dismiss(None)


def _file_key(f: FileView) -> str:
    return f"{f.document_id}:{f.path}"
