"""Reading an .xlsx as the file holds it: cost follows the cells that exist, not what it declares.

openpyxl's read-only sheet pads every row to the sheet's declared dimension, and trusts it: a
1.5 KB workbook declaring `A1:XFD1048576` becomes a million rows of 16,384 empty cells. Its
parser also keeps every row it has cleared as an empty element (100 MB for a sheet formatted
down to row 1,048,576), reads the shared strings with no pause for a heartbeat, and holds each
as a Python object (2.5 bytes of memory per byte of XML). Here:

* rows missing from the file are not made up (they are blank anyway), a row is as long as its
  last non-empty cell, and each parsed row is dropped from the tree;
* the shared strings are kept as one UTF-8 buffer with offsets (about 1 byte per byte of text)
  and parsed only as far as the cells read so far need;
* both are parsed with defusedxml (no entity expansion, no external DTD), calling `tick`;
* a formula whose result was never saved (a workbook written by a script, or saved without
  recalculating) reads as an `UncachedFormula`, not as empty, so its row is not taken for blank.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from defusedxml.ElementTree import iterparse
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._reader import FORMULA_TAG, ROW_TAG, WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

from exmado_tui.errors import WorkbookError
from exmado_tui.workbook.checks import WorkbookLimits, setting

TICK_EVERY = 4096  # rows or strings parsed between two calls of `tick` (heartbeat, control)
SI_TAG = f"{{{SHEET_MAIN_NS}}}si"
T_TAG = f"{{{SHEET_MAIN_NS}}}t"
PHONETIC_TAG = f"{{{SHEET_MAIN_NS}}}rPh"
DATA_TAG = f"{{{SHEET_MAIN_NS}}}sheetData"


class UncachedFormula(str):
    """A formula cell with no saved value; its text is the cell's coordinate (`A9`)."""


class SharedStrings:
    """The workbook's shared strings in one buffer (a million keys cost megabytes, not 60 MB),
    parsed only as far as the highest index asked for: checking a workbook's header does not
    read a table of a million strings, and a table no cell uses is never parsed."""

    def __init__(self, source: IO[bytes] | None, tick: Callable[[], None]) -> None:
        self._text = bytearray()
        self._ends = array("Q")
        self._more = _parse_strings(source, self, tick) if source else iter(())

    def append(self, text: str) -> None:
        self._text += text.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._text))

    def __len__(self) -> int:
        """How many are parsed so far."""
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        while index >= len(self._ends) and next(self._more, None) is not None:
            pass
        start = self._ends[index - 1] if index > 0 else 0
        return self._text[start : self._ends[index]].decode("utf-8", "surrogatepass")


def _parse_strings(
    source: IO[bytes], strings: SharedStrings, tick: Callable[[], None]
) -> Iterator[int]:
    """Append each `<si>`'s text runs joined, phonetic hints (`<rPh>`) left out, as openpyxl
    does; yield after each."""
    pieces: list[str] = []
    phonetic = 0
    events = iterparse(source, events=("start", "end"))
    _, root = next(events)
    for event, element in events:
        if element.tag == PHONETIC_TAG:
            phonetic += 1 if event == "start" else -1
        elif event == "end" and element.tag == T_TAG and not phonetic:
            pieces.append(element.text or "")
        elif event == "end" and element.tag == SI_TAG:
            strings.append("".join(pieces).replace("x005F_", ""))
            pieces.clear()
            root.clear()
            if len(strings) % TICK_EVERY == 0:
                tick()
            yield len(strings)


class _BookReader(ExcelReader):
    """openpyxl's reader with the shared strings read lazily by `SharedStrings`."""

    def __init__(self, path: Path, tick: Callable[[], None]) -> None:
        super().__init__(path, read_only=True, data_only=True)
        self.tick = tick

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is not None:  # left open: read on demand until the workbook's archive closes
            source = self.archive.open(part.PartName[1:])
            # openpyxl indexes it like its list of strings; the stubs say list[str].
            self.shared_strings = SharedStrings(source, self.tick)  # type: ignore[assignment]


def load_book(path: Path, tick: Callable[[], None]) -> Any:
    """The read-only workbook (only its sheets' names and parts are used from it)."""
    reader = _BookReader(path, tick)
    reader.read()
    return reader.wb


class _Parser(WorkSheetParser):
    def parse_cell(self, element: Any) -> dict[str, Any]:
        cell = super().parse_cell(element)
        if cell["value"] is None and element.find(FORMULA_TAG) is not None:
            cell["value"] = UncachedFormula(f"{get_column_letter(cell['column'])}{cell['row']}")
        return cell

    def rows(self, tick: Callable[[], None]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """The rows in the file, each dropped from the tree once read."""
        holder: Any = None  # <sheetData>: emptied after each row, or it would keep them all
        for count, (event, element) in enumerate(iterparse(self.source, ("start", "end")), 1):
            if count % TICK_EVERY == 0:
                tick()
            if event == "start":
                holder = element if element.tag == DATA_TAG else holder
            elif element.tag == ROW_TAG:
                if len(element):
                    yield self.parse_row(element)
                else:  # blank, but its number tells a reader of the first rows where to stop
                    self.row_counter = int(element.get("r") or self.row_counter + 1)
                    yield self.row_counter, []
                if holder is not None:
                    holder.clear()


def sheet_rows(
    ws: Any, name: str, limits: WorkbookLimits, tick: Callable[[], None]
) -> Iterator[tuple[int, Sequence[Any]]]:
    """(row number, values up to its last non-empty cell) for each row the sheet file holds."""
    book = ws.parent
    with book._archive.open(ws._worksheet_path) as source:
        parser = _Parser(
            source,
            ws._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, cells in parser.rows(tick):
            yield number, _values(cells, name, ws.title, number, limits)


def _values(
    cells: list[dict[str, Any]], name: str, sheet: str, number: int, limits: WorkbookLimits
) -> Sequence[Any]:
    filled = [c for c in cells if c["value"] is not None]
    if not filled:
        return ()
    width = max(c["column"] for c in filled)
    if width > limits.max_columns:
        raise WorkbookError(
            f"Workbook {name}, sheet {sheet!r}, has a value in cell "
            f"{get_column_letter(width)}{number}, beyond the {limits.max_columns:,} columns "
            f"a list of keys needs; {setting('max_columns')} raises the limit."
        )
    row: list[Any] = [None] * width
    for cell in filled:
        row[cell["column"] - 1] = cell["value"]
    return row
