"""The report's two sheets of lines: Rows (a line per workbook row) and Documents (a line per
exported file, with its document's every index field).

Rows: one line per workbook row, in words a person uses, beside the workbook's own other
columns, with a link to the row's file.

Written in openpyxl's write-only mode, a chunk of rows at a time, so a 100,000-row job costs
the memory of one chunk. The workbook's other columns ("Requested by"…) come from the values
every row keeps in the store (bounded when the workbook was read: `[workbooks] max_columns`
and `max_cell_chars`); a first pass over them finds the columns and their widths, since a row
keeps only the cells up to its last non-empty one. A link is a HYPERLINK formula with a path
relative to the report, so it still opens its file after the output folder is moved or
zipped; openpyxl's own cell hyperlinks would each be held until the sheet is saved.
Text from the workbook that looks like a formula stays text (see `text_cell`).

Documents: one line per exported file, with its document's every index field in its type (a
date a date cell, a decimal a number, keywords joined, a table a line per row), then its
content type, sections, size, path, SHA-256 and modified date.

The fields come from the file's row in the store (`job_file.index_data`, kept by the pipeline
as DocuWare sent them). Documents of a job need not carry the same fields: the sheet has a
column per field name met, in the order they are first met (rows in order), found by a first
pass over the job's files; then the lines are written in openpyxl's write-only mode, a chunk
at a time, so 100,000 documents cost the memory of a chunk. A document matched by several rows
is a line per row; a ZIP unpacked, a line per member. Text that looks like a formula stays
text (`text_cell`); times are in the report's zone.

Both sheets read the store `CHUNK` rows at a time; the job's files are read so for the
Documents sheet (`in_row_order`), and in path order for the manifest and the metadata files
(`in_path_order`): each a named tuple of the file's columns with its row's number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any, cast
from zoneinfo import ZoneInfo

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet
from peewee import Expression, Field, Query

from exmado_tui.docuware.values import (
    FieldValue,
    IndexData,
    field_text,
    stored_fields,
    stored_text,
)
from exmado_tui.formatting import CONTROL, visible
from exmado_tui.job.status import RowStatus
from exmado_tui.output.sheet_lines import Dated
from exmado_tui.store.models import Job, JobFile, JobRow
from exmado_tui.workbook.checks import normalise_header

CHUNK = 2000  # rows (or files) read from the store at a time; `tick` runs after each
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CELL_CONTROLS = "\t\n\r"  # the only control characters a worksheet cell may hold
CELL_CHARS = 32767  # Excel's longest cell
LINK_CHARS = 255  # Excel's longest HYPERLINK address
WIDEST = 60  # characters: a wider column is read in its cell, not across the screen
STATUS_WORDS = {
    RowStatus.DONE: "Found",
    RowStatus.NOT_FOUND: "Not found",
    RowStatus.AMBIGUOUS: "Several found",
    RowStatus.FAILED: "Failed",
    RowStatus.SKIPPED: "Skipped",
    RowStatus.PENDING: "Not done",
}
# The report's own columns and their widths in characters.
OWN_COLUMNS = (
    ("Row", 7),
    ("Key", 24),
    ("Status", 13),
    ("Documents", 11),
    ("Files", 48),
    ("Open", 24),
    ("Error", 60),
    ("Duplicate of row", 17),
)


@dataclass(frozen=True)
class Column:
    name: str
    width: int


def status_word(status: RowStatus) -> str:
    """A row's status as the report says it: Found, Not found, Skipped, Failed…"""
    return STATUS_WORDS[status]


def text_cell(ws: WriteOnlyWorksheet, value: Any) -> Any:
    """A cell for `value`; text that looks like a formula stays text, controls show as `\\x00`,
    and text longer than a cell holds is cut."""
    if not isinstance(value, str):
        return value
    if not value:
        return None  # no cell at all: an empty one costs as much to write as a full one
    value = visible(value, keep=CELL_CONTROLS)[:CELL_CHARS]
    if not value.startswith(FORMULA_STARTS):
        return value
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def write_rows_sheet(ws: WriteOnlyWorksheet, job: Job, tick: Callable[[], None]) -> None:
    """Fill `ws`: a frozen, filtered header row, then one line per row of `job`."""
    extra = workbook_columns(job, tick)
    columns = [Column(name, width) for name, width in OWN_COLUMNS] + extra
    set_widths(ws, [c.width for c in columns])
    ws.freeze_panes = "A2"
    ws.append([header_cell(ws, c.name) for c in columns])
    last = 1
    for row, files in _rows_with_files(job.id, tick):
        ws.append(_row_line(ws, row, files, extra))
        last += 1
    borrowed(ws).auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last}"


def set_widths(ws: WriteOnlyWorksheet, widths: Sequence[int]) -> None:
    """Column widths in characters, from column A; before the first row is written."""
    for index, width in enumerate(widths, 1):
        borrowed(ws).column_dimensions[get_column_letter(index)].width = width


def borrowed(ws: WriteOnlyWorksheet) -> Worksheet:
    """`ws` with what it borrows from a worksheet (column widths, the filter: set up by
    `Worksheet._setup`, written when the sheet is), which openpyxl's stubs do not list."""
    return cast(Worksheet, ws)


def workbook_columns(job: Job, tick: Callable[[], None]) -> list[Column]:
    """The workbook's columns other than the key's, in its order, each as wide as its text."""
    mapped = {normalise_header(name) for name in (job.config or {}).get("columns", {})}
    widths: dict[str, int] = {}  # every column met, in order; the key's at -1
    for chunk in _chunked(JobRow.select(JobRow.row_number, JobRow.values), job.id, tick):
        for row in chunk:
            for name, value in (row.values or {}).items():
                width = widths.get(name)
                if width is None:
                    width = -1 if normalise_header(name) in mapped else len(name)
                if width >= 0:
                    width = max(width, len(value))
                widths[name] = width
    return [Column(name, min(width, WIDEST) + 2) for name, width in widths.items() if width >= 0]


def link_formula(path: str, count: int) -> str | None:
    """`=HYPERLINK("A/1.pdf","1.pdf")` for a file relative to the report, or None when Excel
    could not follow it (too long, a `#` it would read as a place in the file, a control)."""
    parts = _parts(path)
    if (
        not parts
        or len(path) > LINK_CHARS
        or "#" in path
        or CONTROL.search(path)
        or path.startswith("/")
        or ".." in parts
    ):
        return None
    label = parts[-1] if count == 1 else f"{parts[-1]} (+{count - 1})"
    return f'=HYPERLINK("{_quoted(path)}","{_quoted(label[:LINK_CHARS])}")'


def _parts(path: str) -> Sequence[str]:
    """`PurePosixPath(path).parts`, without making a path (a link per found row) when no part
    is empty or "." (the only ones it drops or changes)."""
    parts = path.split("/")
    return PurePosixPath(path).parts if "" in parts or "." in parts else parts


def _quoted(text: str) -> str:
    return text.replace('"', '""')


def header_cell(ws: WriteOnlyWorksheet, name: str) -> Cell:
    cell = WriteOnlyCell(ws, visible(name)[:CELL_CHARS])
    cell.data_type = "s"  # a header such as "=x" from the workbook stays text
    cell.font = Font(bold=True)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def _row_line(
    ws: WriteOnlyWorksheet, row: Any, files: list[str], extra: Sequence[Column]
) -> list[Any]:
    own = (row.row_number, row.key, status_word(row.status), row.documents, "\n".join(files))
    line = [text_cell(ws, v) for v in own]
    line.append(link_formula(files[0], len(files)) if files else None)
    line += [text_cell(ws, row.error), row.duplicate_of]
    values = row.values or {}
    return line + [text_cell(ws, values.get(c.name)) for c in extra]


def _rows_with_files(job_id: str, tick: Callable[[], None]) -> Iterator[tuple[Any, list[str]]]:
    query = JobRow.select(
        JobRow.id,
        JobRow.row_number,
        JobRow.key,
        JobRow.status,
        JobRow.documents,
        JobRow.error,
        JobRow.duplicate_of,
        JobRow.values,
    )
    for chunk in _chunked(query, job_id, tick):
        files = _files_of(_rows_between(job_id, chunk[0].row_number, chunk[-1].row_number))
        for row in chunk:
            yield row, files.get(row.id, [])


def _files_of(rows: Query) -> dict[int, list[str]]:
    paths: dict[int, list[str]] = {}
    # By row alone (a row's id is the job's): the index on row, not a scan of the job's files.
    query = JobFile.select(JobFile.row, JobFile.path).where(JobFile.row.in_(rows))
    query = query.order_by(JobFile.id)
    for row_id, path in cast("Iterable[tuple[int, str]]", query.tuples().iterator()):
        paths.setdefault(row_id, []).append(path)
    return paths


def _chunked(query: Any, job_id: str, tick: Callable[[], None]) -> Iterator[list[Any]]:
    """`query`'s rows of the job as named tuples in row order, `CHUNK` at a time; `tick`
    runs after each chunk."""
    last = 0
    while True:
        page = query.where((JobRow.job == job_id) & (JobRow.row_number > last))
        chunk = list(page.order_by(JobRow.row_number).limit(CHUNK).namedtuples().iterator())
        if not chunk:
            return
        yield chunk
        last = chunk[-1].row_number
        tick()


DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
LEADING = (("Row", 7), ("Document id", 12), ("Cabinet", 16))
TRAILING = (
    ("Content type", 18),
    ("Sections", 9),
    ("Size", 12),
    ("Path", 48),
    ("SHA-256", 20),
    ("Modified", 20),
)


def write_documents_sheet(
    ws: WriteOnlyWorksheet, job: Job, zone: ZoneInfo, tick: Callable[[], None]
) -> None:
    """Fill `ws`: a frozen, filtered header row, then one line per file of `job`."""
    fields = field_columns(job.id, tick)
    columns = [Column(n, w) for n, w in LEADING] + fields + [Column(n, w) for n, w in TRAILING]
    set_widths(ws, [c.width for c in columns])
    ws.freeze_panes = "A2"
    ws.append([header_cell(ws, c.name) for c in columns])
    cabinet = str((job.config or {}).get("cabinet") or "")
    last = 1
    for item in in_row_order(job.id, tick):
        ws.append(_document_line(ws, item, cabinet, [c.name for c in fields], zone))
        last += 1
    borrowed(ws).auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last}"


def field_columns(job_id: str, tick: Callable[[], None]) -> list[Column]:
    """Every field name the job's documents carry, in the order first met, each as wide as
    its text (within `WIDEST`)."""
    widths: dict[str, int] = {}
    for item in in_row_order(job_id, tick, (JobFile.index_data,)):
        for name, stored in stored_fields(item.index_data).items():
            widths[name] = max(widths.get(name, len(name)), _widest_line(stored_text(stored)))
    return [Column(name, min(width, WIDEST) + 2) for name, width in widths.items()]


def _widest_line(text: str) -> int:
    if text.isprintable():  # no line break of any kind (each is a control or a separator)
        return len(text)
    return max((len(line) for line in text.splitlines()), default=0)


def _document_line(
    ws: WriteOnlyWorksheet, item: Any, cabinet: str, names: list[str], zone: ZoneInfo
) -> list[Any]:
    data = IndexData.read(item.index_data)
    document = int(item.document_id) if item.document_id.isdigit() else item.document_id
    line: list[Any] = [item.row_number, document, text_cell(ws, cabinet or item.cabinet_id)]
    line += [typed_cell(ws, data.fields.get(name), zone) for name in names]
    modified = item.modified_at.replace(tzinfo=UTC) if item.modified_at else None
    return line + [
        text_cell(ws, data.content_type),
        data.sections or None,
        item.size,
        text_cell(ws, item.path),
        text_cell(ws, item.sha256),
        typed_cell(ws, modified, zone),
    ]


def typed_cell(ws: WriteOnlyWorksheet, value: FieldValue, zone: ZoneInfo) -> Any:
    """A cell of the value's own type: a date or a time (in `zone`, which Excel does not
    keep) formatted as such, a number, or text."""
    if type(value) is str:  # most fields: as field_text shows it
        return text_cell(ws, value)
    if value is None:  # a field the document lacks, or empty: no cell, as for ""
        return None
    if isinstance(value, datetime):
        return Dated(value.astimezone(zone).replace(tzinfo=None), TIME_FORMAT)
    if isinstance(value, date):
        return Dated(datetime.combine(value, time()), DATE_FORMAT)
    if isinstance(value, int | Decimal):
        return value
    return text_cell(ws, field_text(value))


# -- the job's files, `CHUNK` at a time (`tick` after each: a worker beats the job's heart) --

FILE_COLUMNS = (
    JobFile.id,
    JobRow.row_number,
    JobFile.cabinet_id,
    JobFile.document_id,
    JobFile.path,
    JobFile.size,
    JobFile.sha256,
    JobFile.modified_at,
    JobFile.index_data,
)
LISTED_COLUMNS = FILE_COLUMNS[:-1]  # what the manifest lists of a file: not its index data


def in_path_order(
    job_id: str, tick: Callable[[], None], columns: Sequence[Field] = FILE_COLUMNS
) -> Iterator[Any]:
    """By path, then id (the index on the job's paths, migration 4)."""

    def after(last: Any) -> Expression:
        same_path = (JobFile.path == last.path) & (JobFile.id > last.id)
        return (JobFile.path > last.path) | same_path

    query = _files(job_id, columns).order_by(JobFile.path, JobFile.id).limit(CHUNK)
    return _paged(query, after, tick)


def in_row_order(
    job_id: str, tick: Callable[[], None], columns: Sequence[Field] = FILE_COLUMNS
) -> Iterator[Any]:
    """By row number, then id: a chunk of the job's rows at a time (the index on its row
    numbers), then their files (the index on a file's row), so each chunk costs its size."""
    last = 0
    while numbers := _row_numbers(job_id, last):
        rows = _rows_between(job_id, last + 1, numbers[-1])
        files = _files(job_id, columns).where(JobFile.row.in_(rows))
        yield from files.order_by(JobRow.row_number, JobFile.id).namedtuples().iterator()
        last = numbers[-1]
        tick()


def _row_numbers(job_id: str, after: int) -> list[int]:
    """The row numbers of the job's next `CHUNK` rows after row number `after`."""
    query = JobRow.select(JobRow.row_number)
    query = query.where((JobRow.job == job_id) & (JobRow.row_number > after))
    numbers = query.order_by(JobRow.row_number).limit(CHUNK).tuples().iterator()
    return [number for (number,) in cast("Iterable[tuple[int]]", numbers)]


def _rows_between(job_id: str, first: int, last: int) -> Query:
    """The ids of the job's rows numbered `first` to `last`, as a query that the store runs
    within the one asking for their files (a list of 2,000 ids costs more to send)."""
    numbered = JobRow.row_number.between(first, last)
    return JobRow.select(JobRow.id).where((JobRow.job == job_id) & numbered)


def first_per_path(items: Iterator[Any]) -> Iterator[Any]:
    """One file a path (the first row's), from files in path order."""
    last_path = None
    for item in items:
        if item.path != last_path:
            last_path = item.path
            yield item


def utc_text(moment: datetime | None) -> str | None:
    """A stored naive-UTC time as ISO text ending in Z (the manifest's, the metadata's)."""
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _files(job_id: str, columns: Sequence[Field] = FILE_COLUMNS) -> Query:
    return JobFile.select(*columns).join(JobRow).where(JobFile.job == job_id)


def _paged(
    query: Query, after: Callable[[Any], Expression], tick: Callable[[], None]
) -> Iterator[Any]:
    page = query
    while chunk := list(page.namedtuples().iterator()):
        yield from chunk
        page = query.where(after(chunk[-1]))
        tick()
