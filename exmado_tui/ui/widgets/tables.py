"""The dashboard's tables: `PlainTable`, a DataTable that shows text from data as written,
never as markup; the jobs list on it (`JobTable`: one line per job, refreshed in place so the
cursor and scroll stay put) and its status filter line (`FilterBar`: each filter, its key and
its count; clickable)."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.binding import Binding
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import DataTable, Static
from textual.widgets._data_table import CellType, ColumnKey, RowKey

from exmado_tui.config.settings import zone_abbreviation
from exmado_tui.formatting import duration, local_time, visible
from exmado_tui.job.status import JobStatus
from exmado_tui.store.queries import JobSummary
from exmado_tui.ui.logic.jobs import FILTERS
from exmado_tui.ui.widgets.indicators import progress_text, status_text

# key, label, width. Up to found/not found/failed they fit 80 columns (with the scrollbar);
# those three share one cell, each count at most as wide as its word.
NAME_WIDTH = 18  # at least: the name takes what the columns that fit leave at the right edge
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("mark", " ", 1),
    ("id", "ID", 8),
    ("name", "Name", NAME_WIDTH),
    ("status", "Status", 13),
    ("progress", "Progress", 10),
    ("outcomes", "Found·Miss·Fail", 15),
    ("rows", "Rows", 13),
    ("user", "User", 10),
    ("source", "Source", 10),
    ("started", "Started", 11),
    ("duration", "Time", 7),
    ("eta", "ETA", 7),
)
Cells = tuple[str | Text, ...]


def plain(value: Any) -> Any:
    """A str as Text (shown as written: "[columns]" stays, a lone "[/]" is no error); any other
    cell as it is."""
    return Text(value) if isinstance(value, str) else value


class PlainTable(DataTable[Any]):
    """Every str cell and column label is plain text: job names, keys, errors and file names
    come from workbooks, DocuWare and the store, where "[" is just a character."""

    def add_column(self, label: Any, *args: Any, **kwargs: Any) -> ColumnKey:
        return super().add_column(plain(label), *args, **kwargs)

    def add_row(self, *cells: CellType, **kwargs: Any) -> RowKey:
        return super().add_row(*(plain(cell) for cell in cells), **kwargs)

    def update_cell(
        self, row_key: RowKey | str, column_key: ColumnKey | str, value: CellType, **kwargs: Any
    ) -> None:
        super().update_cell(row_key, column_key, plain(value), **kwargs)


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def outcomes_text(job: JobSummary) -> Text:
    """`   60 ·  12 ·   8`: found (green), not found (yellow), failed (red), under their words."""
    parts = (
        (job.found_rows, len("Found"), "green"),
        (job.not_found_rows, len("Miss"), "yellow"),
        (job.failed_rows, len("Fail"), "red"),
    )
    text = Text()
    for n, (count, width, style) in enumerate(parts):
        text.append("·" if n else "", style="dim")
        text.append(compact_count(count).rjust(width), style=style if count else "")
    return text


def compact_count(n: int) -> str:
    """At most four characters: 9999, 12k, 100k, 1.2M."""
    if n < 10_000:
        return str(n)
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}M" if n < 10_000_000 else f"{n // 1_000_000}M"


def name_width(room: int, padding: int = 1) -> int:
    """The Name column's width in a table `room` cells wide: its own, and what the columns that
    fit whole leave at the right edge, so that none is shown cut ("Ro" for Rows): the first
    that does not fit starts just beyond the edge, a scroll away."""
    used = 0
    for _, _, width in COLUMNS:
        if used + width + 2 * padding > room:
            break
        used += width + 2 * padding
    return NAME_WIDTH + max(0, room - used)


def job_cells(
    job: JobSummary, marked: bool, now: datetime, zone: ZoneInfo, name_room: int = NAME_WIDTH
) -> Cells:
    """The cells of one job's line; what comes from data with its control characters visible."""
    return (
        Text("●", style="bold yellow") if marked else " ",
        job.short_id,
        clip(visible(job.name), name_room),
        status_text(job.status, job.control),
        progress_text(job.progress, width=5),
        outcomes_text(job),
        Text(f"{job.done_rows}/{job.total_rows}", justify="right"),
        clip(visible(job.user), 10),
        clip(visible(job.source), 10),
        local_time(job.started_at, zone, "%m-%d %H:%M"),
        duration(job.duration_s(now)),
        duration(job.eta_s(now)),
    )


class JobTable(PlainTable):
    """A page of jobs. Rows are keyed by position and rewritten cell by cell."""

    DEFAULT_CSS = """
    JobTable { height: 1fr; }
    """
    BINDINGS = [Binding("enter", "select_cursor", "Open")]  # in the footer: it opens the job

    def __init__(self, zone: ZoneInfo, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.zone_label = zone_abbreviation(zone)
        """The zone the times are in, said once: in the Started column's title."""
        self.job_ids: list[str] = []
        self.wanted: str | None = None
        """A job the cursor goes to as soon as it is shown (a job just created)."""
        self._shown: list[Cells] = []
        self.name_room = NAME_WIDTH

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            if key == "started":
                label = f"{label} {self.zone_label}"
                width = max(width, len(label))
            self.add_column(label, width=width, key=key)

    def on_resize(self) -> None:
        self._fit_name()

    def watch_show_vertical_scrollbar(self) -> None:
        self._fit_name()

    def _fit_name(self) -> None:
        """Give the Name column the room the table's width leaves (see `name_width`)."""
        room = name_width(self.scrollable_content_region.width, self.cell_padding)
        column = self.columns.get(ColumnKey("name"))
        if column is None or column.width == room:
            return
        column.width = self.name_room = room
        self._require_update_dimensions = True  # DataTable's own flag: widths changed
        self.refresh()

    @property
    def current_job_id(self) -> str | None:
        """The job under the cursor, if any."""
        row = self.cursor_row
        return self.job_ids[row] if 0 <= row < len(self.job_ids) else None

    def show(
        self, jobs: list[JobSummary], marked: Container[str], now: datetime, zone: ZoneInfo
    ) -> None:
        """Show `jobs`, changing only the cells that differ; the cursor follows its job (or
        goes to the wanted one)."""
        followed = self.current_job_id
        if any(job.id == self.wanted for job in jobs):
            followed, self.wanted = self.wanted, None
        rows = [job_cells(job, job.id in marked, now, zone, self.name_room) for job in jobs]
        for index, cells in enumerate(rows):
            if index < len(self._shown):
                self._update_row(index, cells)
            else:
                self.add_row(*cells, key=f"r{index}")
        for index in range(len(rows), len(self._shown)):
            self.remove_row(f"r{index}")
        self._shown = rows
        self.job_ids = [job.id for job in jobs]
        if followed in self.job_ids and self.job_ids.index(followed) != self.cursor_row:
            self.move_cursor(row=self.job_ids.index(followed))

    def _update_row(self, index: int, cells: Cells) -> None:
        old = self._shown[index]
        for (key, _, _), before, after in zip(COLUMNS, old, cells, strict=True):
            if before != after:
                self.update_cell(f"r{index}", key, after)


class FilterBar(Static):
    """Shows `1 All 12  2 Active 3 …`, the current filter highlighted; click one to pick it."""

    DEFAULT_CSS = """
    FilterBar { height: auto; width: 1fr; padding: 0 1; }
    """

    current: reactive[str] = reactive("all")
    """Name of the selected filter."""
    counts: reactive[dict[JobStatus, int]] = reactive(dict, always_update=True)
    """Jobs per status in the whole store."""
    text_filter: reactive[str] = reactive("")
    """The `/` text filter, shown when set."""

    def render(self) -> Content:
        """The filters laid out line by line, so a narrow terminal wraps between them."""
        lines: list[list[Content]] = [[]]
        used = 0
        width = max(20, self.content_region.width or self.size.width or 80)
        for item in self._items():
            if used and used + 2 + item.cell_length > width:
                lines.append([])
                used = 0
            used += (2 if used else 0) + item.cell_length
            lines[-1].append(item)
        return Content("\n").join(Content("  ").join(line) for line in lines)

    def _items(self) -> list[Content]:
        items = []
        for f in FILTERS:
            count = f.count(self.counts)
            style = "reverse bold" if f.name == self.current else "" if count else "dim"
            link = f"@click=screen.filter('{f.name}')"
            items.append(
                Content.from_markup(
                    f"[{style} {link}]$label[/]".replace("[ ", "["),
                    label=f"{f.key} {f.label} {count}",
                )
            )
        if self.text_filter:
            items.append(Content.from_markup("[b $warning]/$text[/]", text=self.text_filter))
        return items
