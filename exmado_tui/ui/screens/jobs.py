"""`JobsScreen`, the home screen: every job on one line, live, filterable, sortable, markable."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from exmado_tui.errors import StoreUnavailableError
from exmado_tui.job.status import JobStatus
from exmado_tui.store.queries import JobSummary, count_jobs, list_jobs, status_counts
from exmado_tui.ui.app import (
    JOB_ACTION_BINDINGS,
    HidesMutatingKeys,
    JobActionsMixin,
    exmado_app,
    mutating,
)
from exmado_tui.ui.keys import KeyFooter
from exmado_tui.ui.logic.jobs import FILTER_BY_NAME, FILTERS, next_sort, sort_label
from exmado_tui.ui.messages import JobActionSucceeded, JobFinished, JobsRefreshed
from exmado_tui.ui.widgets.indicators import HealthStrip, store_trouble
from exmado_tui.ui.widgets.tables import FilterBar, JobTable

PAGE_SIZE = 100
REFRESH_S = 1.0


@dataclass(frozen=True)
class JobsQuery:
    """What the list shows: one page of one filter in one order."""

    statuses: tuple[JobStatus, ...] = ()
    text: str = ""
    sort: str = "created"
    descending: bool = True
    offset: int = 0
    limit: int = PAGE_SIZE


def read_jobs_page(q: JobsQuery) -> JobsRefreshed:
    """The page, its filter's total and the per-status counts: three small queries."""
    statuses = list(q.statuses) or None
    text = q.text or None
    jobs = list_jobs(
        statuses, text, sort=q.sort, descending=q.descending, limit=q.limit, offset=q.offset
    )
    return JobsRefreshed(jobs, count_jobs(statuses, text), status_counts())


class JobsScreen(HidesMutatingKeys, JobActionsMixin, Screen[None]):
    """The jobs list.

    Number keys 1–9 filter by status, `/` by text; `o` cycles the sort column and `O` flips
    it; space marks jobs for bulk actions (`A` marks the whole page); `[` and `]` page.
    """

    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("n", "new_job", "New"),
        *JOB_ACTION_BINDINGS,
        Binding("w", "app.workers", "Workers"),
        Binding("f", "app.dropfolder", "Drop folder"),
        Binding("space", "mark", "Mark", show=False),
        Binding("A", "mark_page", "Mark page", show=False),
        Binding("escape", "clear", "Clear marks/filter", show=False),
        Binding("slash", "search", "Filter", key_display="/"),
        Binding("o", "sort", "Sort"),
        Binding("O", "reverse", "Reverse sort", show=False),
        Binding("right_square_bracket", "page(1)", "Next page", show=False, key_display="]"),
        Binding("left_square_bracket", "page(-1)", "Previous page", show=False, key_display="["),
        *(
            Binding(f.key, f"filter('{f.name}')", f"Show {f.label.lower()}", show=False)
            for f in FILTERS
        ),
    ]

    FOOTER_RANKS = (
        *("select_cursor", "open", "new_job", "search", "start", "pause", "cancel_job"),
        *("resume", "app.workers", "app.dropfolder", "retry", "delete", "sort"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.query_state = JobsQuery()
        self.marked: dict[str, JobSummary] = {}
        self.jobs: list[JobSummary] = []
        self.total = 0
        self.loaded = False
        self._loading = False
        self._again = False

    # -- children -------------------------------------------------------------------------

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    @property
    def search_input(self) -> Input:
        return self.query_one("#search", Input)

    @property
    def status_line(self) -> Static:
        return self.query_one("#status-line", Static)

    def compose(self) -> ComposeResult:
        yield HealthStrip()
        yield FilterBar()
        yield JobTable(exmado_app(self).settings.zone, id="jobs")
        yield Input(placeholder="filter by name, user, workbook or id — enter applies", id="search")
        yield Static(id="status-line", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self.refresh_jobs)
        self.refresh_jobs()
        self.table.focus()

    def on_screen_resume(self) -> None:
        self.refresh_jobs()

    # -- loading --------------------------------------------------------------------------

    def refresh_jobs(self) -> None:
        """Read the page again (skipped while hidden; coalesced while a read is running)."""
        if not self.is_current and self.loaded:
            return
        if self._loading:
            self._again = True
            return
        self._loading = True
        self.run_worker(self._load(self.query_state), group="jobs-refresh")

    async def _load(self, q: JobsQuery) -> None:
        try:
            page = await exmado_app(self).backend.read(read_jobs_page, q)
        except StoreUnavailableError as exc:  # locked, or the server restarting: try again
            self.status_line.update(store_trouble(exc))
            return
        finally:
            self._loading = False
        if q == self.query_state:
            self.post_message(page)
        if self._again:
            self._again = False
            self.refresh_jobs()

    def on_jobs_refreshed(self, page: JobsRefreshed) -> None:
        self.jobs, self.total = page.jobs, page.total
        self.marked.update({job.id: job for job in page.jobs if job.id in self.marked})
        if not page.jobs and self.query_state.offset and page.total:
            self._set_query(offset=max(0, page.total - 1) // PAGE_SIZE * PAGE_SIZE)
            return
        self._show_table(page.jobs)
        self.filter_bar.counts = page.counts
        self._show_status_line()
        self.loaded = True

    def _show_table(self, jobs: list[JobSummary]) -> None:
        app = exmado_app(self)
        self.table.show(jobs, self.marked, app.clock(), app.settings.zone)

    def _show_status_line(self) -> None:
        q = self.query_state
        first = q.offset + 1 if self.jobs else 0
        last = q.offset + len(self.jobs)
        arrow = "↓" if q.descending else "↑"
        parts = [f"{first}–{last} of {self.total}", f"sort {sort_label(q.sort)} {arrow}"]
        if self.marked:
            parts.append(f"{len(self.marked)} marked")
        if self.total > PAGE_SIZE:
            parts.append("[ ] page")
        self.status_line.update("  ·  ".join(parts))

    def _set_query(self, **changes: object) -> None:
        self.query_state = JobsQuery(**{**self.query_state.__dict__, **changes})
        self.filter_bar.text_filter = self.query_state.text
        self._show_status_line()
        self.refresh_jobs()

    # -- filters, sort, pages -------------------------------------------------------------

    def action_filter(self, name: str) -> None:
        self.filter_bar.current = name
        self._set_query(statuses=FILTER_BY_NAME[name].statuses, offset=0)
        self.table.move_cursor(row=0)

    def action_sort(self) -> None:
        self._set_query(sort=next_sort(self.query_state.sort), offset=0)

    def action_reverse(self) -> None:
        self._set_query(descending=not self.query_state.descending, offset=0)

    def action_page(self, step: int) -> None:
        offset = self.query_state.offset + step * PAGE_SIZE
        if 0 <= offset < max(self.total, 1):
            self._set_query(offset=offset)
            self.table.move_cursor(row=0)

    def action_search(self) -> None:
        self.search_input.value = self.query_state.text
        self.search_input.add_class("-shown")
        self.search_input.focus()

    @on(Input.Submitted, "#search")
    def _apply_search(self, event: Input.Submitted) -> None:
        self.search_input.remove_class("-shown")
        self._set_query(text=event.value.strip(), offset=0)
        self.table.focus()

    @on(Input.Changed, "#search")
    def _live_search(self, event: Input.Changed) -> None:
        self._set_query(text=event.value.strip(), offset=0)

    def action_clear(self) -> None:
        """Escape: hide the search box, else drop the marks, else the text filter."""
        if self.search_input.has_class("-shown"):
            self.search_input.remove_class("-shown")
            self.table.focus()
        elif self.marked:
            self.marked.clear()
            self.refresh_jobs()
        elif self.query_state.text:
            self._set_query(text="", offset=0)

    @on(DataTable.HeaderSelected)
    def _sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        """Clicking a sortable header sorts by it; clicking it again flips the order."""
        key = {
            "name": "name",
            "status": "status",
            "rows": "rows",
            "user": "user",
            "started": "started",
            "progress": "progress",
            "id": "created",
        }.get(str(event.column_key.value))
        if key == self.query_state.sort:
            self.action_reverse()
        elif key:
            self._set_query(sort=key, offset=0)

    # -- marks and opening ----------------------------------------------------------------

    def action_mark(self) -> None:
        job_id = self.table.current_job_id
        if job_id is None:
            return
        if self.marked.pop(job_id, None) is None:
            self.marked[job_id] = next(job for job in self.jobs if job.id == job_id)
        self._show_table(self.jobs)
        self._show_status_line()
        if self.table.cursor_row < len(self.jobs) - 1:
            self.table.move_cursor(row=self.table.cursor_row + 1)

    def action_mark_page(self) -> None:
        page = {job.id: job for job in self.jobs}
        if page.keys() <= self.marked.keys():
            for job_id in page:
                del self.marked[job_id]
        else:
            self.marked.update(page)
        self._show_table(self.jobs)
        self._show_status_line()

    def action_open(self) -> None:
        job_id = self.table.current_job_id
        if job_id:
            from exmado_tui.ui.screens.detail import JobDetailScreen

            self.app.push_screen(JobDetailScreen(job_id))

    @on(DataTable.RowSelected, "#jobs")
    def _open_selected(self) -> None:
        self.action_open()

    @mutating
    def action_new_job(self) -> None:
        from exmado_tui.ui.screens.new_job import NewJobScreen

        self.app.push_screen(NewJobScreen(), self._show_created)

    def _show_created(self, job_id: str | None) -> None:
        """After a create: every job, newest first, and the cursor on the new one."""
        if job_id is None:
            return
        self.table.wanted = job_id
        self.filter_bar.current = "all"
        self._set_query(statuses=(), text="", sort="created", descending=True, offset=0)

    # -- job actions ----------------------------------------------------------------------

    def target_jobs(self) -> list[JobSummary]:
        """The marked jobs (as last seen; marks survive paging), else the one under the cursor."""
        if self.marked:
            return list(self.marked.values())
        job_id = self.table.current_job_id
        return [job for job in self.jobs if job.id == job_id]

    def after_job_action(self, action: str) -> None:
        self.marked.clear()
        self.refresh_jobs()

    def on_job_action_succeeded(self, message: JobActionSucceeded) -> None:
        self.refresh_jobs()

    def on_job_finished(self, message: JobFinished) -> None:
        self.refresh_jobs()
