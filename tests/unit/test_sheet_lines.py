"""The report's sheets written a line as one text (`LineSheet`) are byte for byte what
openpyxl's own write-only sheet writes for the same lines, styles and widths included."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from exmado_tui.output.sheet_lines import Dated, line_sheet

Date = Callable[[WriteOnlyWorksheet, datetime, str], Any]


def header(ws: WriteOnlyWorksheet, text: str) -> Cell:
    cell = WriteOnlyCell(ws, text)
    cell.data_type = "s"
    cell.font = Font(bold=True)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def dated(ws: WriteOnlyWorksheet, moment: datetime, number_format: str) -> Cell:
    cell = WriteOnlyCell(ws, moment)
    cell.number_format = number_format
    return cell


def as_dated(ws: WriteOnlyWorksheet, moment: datetime, number_format: str) -> Dated:
    return Dated(moment, number_format)


def quoted(ws: WriteOnlyWorksheet, text: str) -> Cell:
    cell = WriteOnlyCell(ws, text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def bold(ws: WriteOnlyWorksheet) -> Cell:
    cell = WriteOnlyCell(ws)  # no value, a style: written all the same
    cell.font = Font(bold=True)
    return cell


def linked(ws: WriteOnlyWorksheet) -> Cell:
    cell = WriteOnlyCell(ws, "site")
    cell.hyperlink = "https://example.com/"
    return cell


def lines(ws: WriteOnlyWorksheet, dating: Date) -> Iterator[Iterable[Any]]:
    """What the report's sheets hold, and what they never do (openpyxl's own path); each
    date made by `dating`. Each line is made as it is appended, as the report makes them: a
    cell's number format is the workbook's once the cell is made, a `Dated`'s once written."""
    yield [header(ws, "Row"), header(ws, "=x"), header(ws, " Key ")]
    yield [2, "INV-1", "Found", 1, "A/1.pdf\nA/2.pdf", '=HYPERLINK("A/1.pdf","1.pdf (+1)")']
    yield [3, None, "a & b < c > d \"e\" 'f'", None, None, None, None, "x"]
    yield [4, " lead", "trail ", "\ttab", "\u2028 sep", "   ", "é ü 漢字 🙂", "\r\nx"]
    yield [5, Decimal("12.50"), Decimal("-0.00"), Decimal("1E+2"), Decimal("NaN")]
    yield [6, Decimal("Infinity"), 10**20, -(2**63), 0, Decimal("0.1234567890123456789")]
    yield [7, dating(ws, datetime(2024, 2, 1), "yyyy-mm-dd"), quoted(ws, "=1+1"), "="]
    yield [8, dating(ws, datetime(2024, 2, 1, 11, 0, 5), "yyyy-mm-dd hh:mm:ss"), quoted(ws, "-3")]
    early = datetime(1900, 1, 2, 6)  # before 1900-03-01, which Excel counts a day off
    yield [9, dating(ws, early, "yyyy-mm-dd"), dating(ws, datetime(1899, 12, 30), "d")]
    yield [10, "x" * 32767, "=" + "y" * 40]
    yield [11, quoted(ws, " =lead"), header(ws, ""), WriteOnlyCell(ws, 5), WriteOnlyCell(ws)]
    yield [12, bold(ws), WriteOnlyCell(ws, date(2024, 3, 1)), WriteOnlyCell(ws, Decimal("2.5"))]
    yield []
    yield [None, None]
    yield (value for value in (1, "gen", 3))  # a generator, as openpyxl takes one
    # Not the report's, each written by openpyxl from end to end:
    yield [13, "", dating(ws, datetime(2024, 2, 2), "yyyy-mm-dd")]
    yield [14, "#N/A"]
    yield [15, "z" * 32768]
    yield [16, 1.5, True]
    yield [17, linked(ws)]
    yield [18, WriteOnlyCell(ws, "=A1")]
    yield [19, WriteOnlyCell(ws, "#REF!")]


def sheet_parts(
    tmp_path: Path, make: Callable[[Workbook, str], WriteOnlyWorksheet], dating: Date = dated
) -> list[bytes]:
    book = Workbook(write_only=True)
    for title in ("One", "Two"):
        ws = make(book, title)
        ws.column_dimensions["A"].width = 7
        ws.freeze_panes = "A2"
        for line in lines(ws, dating):
            ws.append(line)
        ws.auto_filter.ref = "A1:H20"
    path = tmp_path / f"{make.__name__}.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.startswith("xl/")]
        return [archive.read(name) for name in sorted(names)]


def openpyxl_sheet(book: Workbook, title: str) -> WriteOnlyWorksheet:
    return book.create_sheet(title)


def test_a_line_sheet_writes_openpyxls_bytes(tmp_path: Path) -> None:
    ours = sheet_parts(tmp_path, line_sheet)
    assert ours == sheet_parts(tmp_path, openpyxl_sheet)
    assert b'<c r="B2" t="inlineStr"><is><t>INV-1</t></is></c>' in b"".join(ours)


def test_a_dated_value_is_written_as_the_cell_openpyxl_makes_of_it(tmp_path: Path) -> None:
    ours = sheet_parts(tmp_path, line_sheet, as_dated)
    assert ours == sheet_parts(tmp_path, openpyxl_sheet)
    assert b'<c r="B7" s="2" t="n"><v>45323</v></c>' in b"".join(ours)


def test_a_dated_value_with_a_zone_is_refused_as_openpyxl_refuses_it() -> None:
    ws = line_sheet(Workbook(write_only=True), "One")
    with pytest.raises(TypeError, match="timezones"):
        ws.append([1, Dated(datetime(2024, 2, 1, tzinfo=UTC), "yyyy-mm-dd")])


def test_a_character_a_sheet_refuses_is_refused_as_openpyxl_refuses_it() -> None:
    ws = line_sheet(Workbook(write_only=True), "One")
    with pytest.raises(IllegalCharacterError):
        ws.append([1, "bell \x07"])
