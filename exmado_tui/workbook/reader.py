"""Streaming workbook reader: sheet and header detection, and value normalisation.

What it reads: `.xlsx`/`.xlsm` (formulas give their cached value; rows read as the file holds
them, see sheet_rows) and `.csv` (its format, encoding and dialect found by `checks`). What
it refuses, each with one sentence naming the file, sheet or column: empty sheets, missing or
duplicated mapped columns, and whatever exceeds the `[workbooks]` limits (`checks`) — before
parsing it.

Values become text: `12345.0` → `12345`, dates → ISO, text trimmed (leading zeros kept).
A cell holding an Excel error (`#N/A`…) in a mapped column makes the row an error; elsewhere it
reads as empty. A formula with no saved value anywhere in a row makes the row an error.
Duplicate headers outside the mapped columns are kept apart as `Name (2)`.
Memory stays bounded: rows are read one at a time; only the first `SCAN_ROWS` are buffered.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.utils import get_column_letter

from exmado_tui.errors import WorkbookError
from exmado_tui.files import shown
from exmado_tui.workbook.checks import (
    CSV_LINE_CELLS,
    SNIFF_BYTES,
    WorkbookLimits,
    bounded_lines,
    check_archive,
    decoded_rows,
    detect_kind,
    normalise_header,
    setting,
    sniff_dialect,
    sniff_encoding,
)
from exmado_tui.workbook.sheet_rows import UncachedFormula, load_book, sheet_rows

SCAN_ROWS = 30  # rows searched for the header when the profile gives none
KEY_SEPARATOR = " / "


class CellError(str):
    """An Excel error value such as `#N/A`, kept apart from text."""


@dataclass(frozen=True)
class Layout:
    """Where the data is: sheet, header row, the headers and the mapped columns' positions."""

    sheet: str
    header_row: int
    headers: tuple[str, ...]
    columns: dict[str, int]  # mapped column, as the profile names it → 0-based index


@dataclass(frozen=True)
class SheetRow:
    """One data row: its number as Excel shows it, its values as text, its key or error."""

    number: int
    values: dict[str, str]
    key: str
    error: str = ""
    key_parts: tuple[str, ...] = field(default=(), compare=False)


def normalise_value(value: Any) -> str | CellError:
    """A cell value as the text a search uses (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    text = str(value).replace("\u00a0", " ").strip()
    return CellError(text) if text in ERROR_CODES else text


def _float_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


class WorkbookReader:
    """Opens one workbook, finds its layout, then streams its data rows."""

    def __init__(
        self,
        path: Path,
        columns: Sequence[str],
        *,
        sheet: str = "",
        header_row: int = 0,
        name: str | None = None,
        limits: WorkbookLimits | None = None,
        tick: Callable[[], None] = lambda: None,
    ) -> None:
        self.path = Path(path)
        self.name = shown(name or self.path.name)  # sentences carry it: control bytes escaped
        self.wanted = list(columns)
        self.sheet = sheet
        self.header_row = header_row
        self.limits = limits or WorkbookLimits()
        self._tick = tick
        self._tick_error: BaseException | None = None
        self._close: list[Any] = []
        self._rows: Iterator[tuple[int, Sequence[Any]]] = iter(())
        self.layout = self._open()

    def tick(self) -> None:
        """The caller's `tick`; what it raises (a job's pause or cancel) is not a damaged file."""
        try:
            self._tick()
        except BaseException as exc:
            self._tick_error = exc
            raise

    def __enter__(self) -> WorkbookReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for item in self._close:
            item.close()
        self._close.clear()

    # -- opening ------------------------------------------------------------------------------

    def _open(self) -> Layout:
        kind = detect_kind(self.path, self.name)
        try:
            if kind == "csv":
                return self._open_csv()
            return self._open_excel()
        except BaseException:
            self.close()
            raise

    def _open_csv(self) -> Layout:
        encoding = sniff_encoding(self.path, self.name)
        handle = open(self.path, encoding=encoding, newline="", errors="strict")  # noqa: SIM115
        self._close.append(handle)
        sample = handle.read(SNIFF_BYTES)
        handle.seek(0)
        lines = bounded_lines(handle, self.name, self.limits.max_cell_chars * CSV_LINE_CELLS)
        reader = csv.reader(lines, dialect=sniff_dialect(sample))
        numbered = ((n, row) for n, row in enumerate(decoded_rows(reader, self.name), start=1))
        return self._find_layout("", self._csv_checked(numbered))

    def _csv_checked(
        self, rows: Iterator[tuple[int, list[str]]]
    ) -> Iterator[tuple[int, list[str]]]:
        """CSV rows held to the limits a sheet's are held to in `checks` and `sheet_rows`."""
        limits = self.limits
        for number, row in rows:
            if number % 2048 == 0:
                self.tick()
            while row and not row[-1]:
                row.pop()
            if len(row) > limits.max_columns:
                raise WorkbookError(
                    f"Workbook {self.name}, line {number}, has {len(row):,} fields, more than "
                    f"the {limits.max_columns:,} columns a list of keys needs; "
                    f"{setting('max_columns')} raises the limit."
                )
            if any(len(text) > limits.max_cell_chars for text in row):
                raise WorkbookError(
                    f"Workbook {self.name}, line {number}, has a field longer than "
                    f"{limits.max_cell_chars:,} characters; "
                    f"{setting('max_cell_chars')} raises the limit."
                )
            yield number, row

    def _open_excel(self) -> Layout:
        check_archive(self.path, self.name, self.limits, self.tick)
        try:
            book = load_book(self.path, self.tick)
        except Exception as exc:  # openpyxl fails in many ways on a file it cannot follow
            if exc is self._tick_error:
                raise
            raise WorkbookError(
                f"Workbook {self.name} cannot be read as an Excel workbook ({_why(exc)}); "
                "open it in Excel and save it again as .xlsx."
            ) from None
        self._close.append(book)
        sheets = [ws for ws in book.worksheets if hasattr(ws, "iter_rows")]
        if not sheets:
            raise WorkbookError(f"Workbook {self.name} has no worksheet with data.")
        if self.sheet:
            return self._find_layout(*self._named_sheet(sheets))
        return self._first_matching_sheet(sheets)

    def _named_sheet(self, sheets: list[Any]) -> tuple[str, Iterator[tuple[int, Sequence[Any]]]]:
        wanted = normalise_header(self.sheet)
        for ws in sheets:
            if normalise_header(ws.title) == wanted:
                return ws.title, self._sheet_rows(ws)
        names = ", ".join(repr(ws.title) for ws in sheets)
        raise WorkbookError(
            f"Workbook {self.name} has no sheet named {self.sheet!r} (it has {names}); "
            "rename the sheet or change the profile's sheet."
        )

    def _first_matching_sheet(self, sheets: list[Any]) -> Layout:
        """The first sheet whose first rows hold every mapped column; else the first sheet."""
        if len(sheets) > 1 and not self.header_row:
            for ws in sheets:
                head, _ = _head(self._sheet_rows(ws), SCAN_ROWS)
                if _header_index(head, self.wanted) is not None:
                    return self._find_layout(ws.title, self._sheet_rows(ws))
        return self._find_layout(sheets[0].title, self._sheet_rows(sheets[0]))

    def _sheet_rows(self, ws: Any) -> Iterator[tuple[int, Sequence[Any]]]:
        """The sheet's rows, numbered; a part of the file openpyxl cannot parse is one sentence."""
        try:
            yield from sheet_rows(ws, self.name, self.limits, self.tick)
        except WorkbookError:
            raise
        except Exception as exc:  # XML ParseError, BadZipFile, zlib.error, KeyError, …
            if exc is self._tick_error:
                raise
            raise WorkbookError(
                f"Workbook {self.name}, sheet {ws.title!r}, is damaged ({_why(exc)}); "
                "open it in Excel and save it again as .xlsx."
            ) from None

    # -- layout ---------------------------------------------------------------------------

    def _find_layout(self, sheet: str, rows: Iterator[tuple[int, Sequence[Any]]]) -> Layout:
        where = f"Workbook {self.name}" + (f", sheet {sheet!r}," if sheet else "")
        head, rows = _head(rows, max(SCAN_ROWS, self.header_row))
        index = self._header_position(head, where)
        number, cells = head[index]
        headers = _unique_headers(cells)
        guessed = not self.header_row and _header_index(head, self.wanted) is None
        columns = self._map_columns(cells, where, number, guessed)
        self._rows = chain(head[index + 1 :], rows)
        return Layout(sheet, number, tuple(headers), columns)

    def _header_position(self, head: list[tuple[int, Sequence[Any]]], where: str) -> int:
        filled = [i for i, (_, cells) in enumerate(head) if _non_blank(cells)]
        if not filled:
            raise WorkbookError(f"{where} is empty; put a header row and one row per document.")
        if self.header_row:
            for i, (number, _) in enumerate(head):
                if number == self.header_row:
                    return i
            raise WorkbookError(
                f"{where} has no row {self.header_row} (the profile's header_row); "
                "set header_row = 0 to detect the header."
            )
        found = _header_index(head, self.wanted)
        return filled[0] if found is None else found

    def _map_columns(
        self, cells: Sequence[Any], where: str, number: int, guessed: bool = False
    ) -> dict[str, int]:
        positions: dict[str, list[int]] = {}
        for i, cell in enumerate(cells):
            positions.setdefault(normalise_header(cell), []).append(i)
        mapped: dict[str, int] = {}
        for column in self.wanted:
            found = positions.get(normalise_header(column), [])
            if not found:
                seen = ", ".join(repr(str(c).strip()) for c in cells if _filled(c)) or "nothing"
                fix = (
                    "rename the column, change the profile's [columns], or set its header_row"
                    f" if the header is below row {SCAN_ROWS}."
                    if guessed
                    else "rename the column or change the profile's [columns]."
                )
                raise WorkbookError(
                    f"{where} has no column {column!r} in its header row {number} (it has {seen}); "
                    + fix
                )
            if len(found) > 1:
                letters = " and ".join(get_column_letter(i + 1) for i in found)
                raise WorkbookError(
                    f"{where} has the column {column!r} twice in header row {number} "
                    f"(columns {letters}); rename or delete one of them."
                )
            mapped[column] = found[0]
        return mapped

    # -- rows ---------------------------------------------------------------------------------

    def rows(self) -> Iterator[SheetRow]:
        """The data rows below the header, blank ones skipped."""
        headers = self.layout.headers
        for number, cells in self._rows:
            if _non_blank(cells):
                yield self._row(number, cells, headers)

    def _row(self, number: int, cells: Sequence[Any], headers: Sequence[str]) -> SheetRow:
        values: dict[str, str] = {}
        for header, cell in zip(headers, cells, strict=False):
            if header:
                text = normalise_value(cell)
                values[header] = "" if isinstance(text, CellError | UncachedFormula) else text
        parts, error = [], _uncached_error(number, cells)
        for column, index in self.layout.columns.items():
            text = normalise_value(cells[index]) if index < len(cells) else ""
            if isinstance(text, UncachedFormula):
                text = ""
            elif isinstance(text, CellError):
                error = error or (
                    f"Row {number}: column {column!r} holds the Excel error {text}; "
                    "fix the cell and create the job again."
                )
            elif not text:
                error = error or f"Row {number} has no value in column {column!r}."
            parts.append(str(text))
        return SheetRow(number, values, KEY_SEPARATOR.join(parts), error, tuple(parts))


def _uncached_error(number: int, cells: Sequence[Any]) -> str:
    for cell in cells:
        if isinstance(cell, UncachedFormula):
            return (
                f"Row {number}: cell {cell} is a formula with no saved value: "
                "open and save the workbook in Excel."
            )
    return ""


def _why(exc: BaseException) -> str:
    while exc.__context__ is not None and not isinstance(exc, DefusedXmlException):
        exc = exc.__context__  # openpyxl wraps what went wrong in a ValueError of its own
    if isinstance(exc, DefusedXmlException):
        return "it declares XML entities, which Excel never writes"
    if isinstance(exc, ExpatError):  # defusedxml's parser: the same broken XML as ParseError
        return "ParseError"
    return type(exc).__name__


def open_workbook(
    path: Path,
    columns: Sequence[str],
    *,
    sheet: str = "",
    header_row: int = 0,
    name: str = "",
    limits: WorkbookLimits | None = None,
    tick: Callable[[], None] = lambda: None,
) -> WorkbookReader:
    """A reader positioned after the header; raises WorkbookError with one sentence.

    `tick` is called every few thousand rows and file chunks (a job's heartbeat and control).
    """
    return WorkbookReader(
        path,
        columns,
        sheet=sheet,
        header_row=header_row,
        name=name or None,
        limits=limits,
        tick=tick,
    )


def no_data_rows(name: str, sheet: str) -> WorkbookError:
    """The refusal of a workbook with a header and nothing below it (at create and at ingest)."""
    where = f", sheet {sheet!r}," if sheet else ""
    return WorkbookError(
        f"Workbook {name}{where} has a header row but no data rows below it; "
        "add one row per document."
    )


def _head(
    rows: Iterator[tuple[int, Sequence[Any]]], last: int
) -> tuple[list[tuple[int, Sequence[Any]]], Iterator[tuple[int, Sequence[Any]]]]:
    """The rows numbered up to `last`, and the rest. By number, not by count: a sheet's blank
    rows are not in its file, and counting 30 rows could read a million blank ones."""
    head: list[tuple[int, Sequence[Any]]] = []
    for row in rows:
        if row[0] > last:
            return head, chain([row], rows)
        head.append(row)
    return head, rows


def _filled(cell: Any) -> bool:
    return cell is not None and (isinstance(cell, UncachedFormula) or str(cell).strip() != "")


def _non_blank(cells: Sequence[Any]) -> bool:
    return any(_filled(c) for c in cells)


def _header_index(head: list[tuple[int, Sequence[Any]]], wanted: Sequence[str]) -> int | None:
    targets = {normalise_header(c) for c in wanted}
    for i, (_, cells) in enumerate(head):
        if targets <= {normalise_header(c) for c in cells}:
            return i
    return None


def _unique_headers(cells: Sequence[Any]) -> list[str]:
    """Header texts, trimmed; a repeated one becomes `Name (2)`; empty stays empty."""
    seen: dict[str, int] = {}
    headers = []
    for cell in cells:
        text = " ".join(str(cell).split()) if _filled(cell) else ""
        if text:
            seen[normalise_header(text)] = seen.get(normalise_header(text), 0) + 1
            count = seen[normalise_header(text)]
            text = text if count == 1 else f"{text} ({count})"
        headers.append(text)
    return headers


def preview(path: Path, columns: Sequence[str], limit: int = 10, **options: Any) -> list[SheetRow]:
    """The first `limit` data rows, for a preview before creating a job."""
    with open_workbook(path, columns, **options) as reader:
        return list(islice(reader.rows(), limit))


__all__ = [
    "CellError",
    "Layout",
    "SheetRow",
    "WorkbookReader",
    "normalise_header",
    "normalise_value",
    "open_workbook",
    "preview",
]
