"""The report's Documents sheet: one line per exported file, with its document's every index
field in its type (a date a date cell, a decimal a number, keywords joined, a table a line
per row), then its content type, sections, size, path, SHA-256 and modified date.

The fields come from the file's row in the store (`job_file.index_data`, kept by the pipeline
as DocuWare sent them). Documents of a job need not carry the same fields: the sheet has a
column per field name met, in the order they are first met (rows in order), found by a first
pass over the job's files; then the lines are written in openpyxl's write-only mode, a chunk
at a time, so 100,000 documents cost the memory of a chunk. A document matched by several rows
is a line per row; a ZIP unpacked, a line per member. Text that looks like a formula stays
text (`text_cell`); times are in the report's zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from exmado_tui.docuware.values import FieldValue, IndexData, field_text
from exmado_tui.output.file_rows import in_row_order
from exmado_tui.output.report_rows import (
    WIDEST,
    Column,
    borrowed,
    header_cell,
    set_widths,
    text_cell,
)
from exmado_tui.store.models import Job

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
        ws.append(_line(ws, item, cabinet, [c.name for c in fields], zone))
        last += 1
    borrowed(ws).auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last}"


def field_columns(job_id: str, tick: Callable[[], None]) -> list[Column]:
    """Every field name the job's documents carry, in the order first met, each as wide as
    its text (within `WIDEST`)."""
    widths: dict[str, int] = {}
    for item in in_row_order(job_id, tick):
        for name, value in IndexData.read(item.index_data).fields.items():
            text = field_text(value)
            widest_line = max((len(line) for line in text.splitlines()), default=0)
            widths[name] = max(widths.get(name, len(name)), widest_line)
    return [Column(name, min(width, WIDEST) + 2) for name, width in widths.items()]


def _line(
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
    if isinstance(value, datetime):
        return _formatted(ws, value.astimezone(zone).replace(tzinfo=None), TIME_FORMAT)
    if isinstance(value, date):
        return _formatted(ws, datetime.combine(value, time()), DATE_FORMAT)
    if isinstance(value, int | Decimal):
        return value
    return text_cell(ws, field_text(value))


def _formatted(ws: WriteOnlyWorksheet, value: datetime, number_format: str) -> Cell:
    cell = WriteOnlyCell(ws, value)
    cell.number_format = number_format
    return cell
