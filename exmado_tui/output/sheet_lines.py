"""A write-only worksheet that writes a line of plain values as text: the report's sheets.

openpyxl's write-only sheet makes each value a cell and each cell an XML element, serialized
one by one (without lxml, by et_xmlfile): most of the CPU of a 100,000-row report. A line of
text, numbers, formulas and cell objects of text, a number or a date (a header, a date, text
kept from being a formula: openpyxl gives their style and type) is the same XML written as
one piece of text. The bytes are openpyxl's own (tests/unit/test_sheet_lines.py writes the
same lines both ways); a line holding anything else (empty text, a character a sheet refuses,
text longer than a cell, "#N/A", a float, a formula cell, a link, a comment) is openpyxl's
from end to end.

It stands on openpyxl 3.1's write-only internals: `_write_rows`, the generator `append`
feeds; its stream's `_file`, the function that writes text into the sheet's part; and
`_set_attributes`, a cell's reference, style and type as its writer sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.cell._writer import _set_attributes  # type: ignore[attr-defined]  # not in stubs
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.cell.rich_text import CellRichText
from openpyxl.compat import safe_string
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

CELL_CHARS = 32767  # Excel's longest cell: openpyxl cuts longer text, so it writes that line
CELL_TYPES = ("s", "n", "d")  # a cell object's kinds written here: text, a number, a date


class LineSheet(WriteOnlyWorksheet):
    """A write-only worksheet whose `append` writes a line of plain values as one text."""

    # openpyxl's own, which its stubs do not list
    _writer: Any
    _values_to_row: Callable[[Sequence[Any], int], Iterator[Cell]]
    row_dimensions: Mapping[int, Any]

    def _write_rows(self) -> Generator[None, Sequence[Any], None]:
        """openpyxl's own loop (worksheet/_write_only.py), each line through `_write_line`."""
        xf = self._writer.xf.send(True)
        with xf.element("sheetData"):
            row_idx = 1
            try:
                while True:
                    values = list((yield))  # a generator too, as openpyxl takes one
                    if self._plain(values, row_idx):
                        self._write_line(xf, values, row_idx)
                    else:
                        self._writer.write_row(xf, self._values_to_row(values, row_idx), row_idx)
                    row_idx += 1
            except GeneratorExit:
                pass
        self._writer.xf.send(None)

    def _plain(self, values: Sequence[Any], row_idx: int) -> bool:
        """Whether `_write_line` writes `values` as openpyxl would."""
        return row_idx not in self.row_dimensions and all(map(_plain_value, values))

    def _write_line(self, xf: Any, values: Sequence[Any], row_idx: int) -> None:
        parts = [f'<row r="{row_idx}">']
        for column, value in enumerate(values, 1):
            if value is None:
                continue
            ref = f"{get_column_letter(column)}{row_idx}"
            kind = type(value)
            if kind is str:
                parts.append(_formula(ref, value) if value[0] == "=" else _text(ref, value))
            elif kind is Cell:
                value.column, value.row = column, row_idx
                if value._value is not None or value.has_style:
                    parts.append(_cell(value))
            else:
                parts.append(_number(ref, value))
        parts.append("</row>")
        xf._file("".join(parts))


def line_sheet(book: Workbook, title: str) -> LineSheet:
    """A `LineSheet` added to `book` (a write-only workbook), as `create_sheet` adds its own."""
    sheet = LineSheet(parent=book, title=title)
    cast(Any, book)._add_sheet(sheet)  # as create_sheet does (its stubs do not list it)
    return sheet


def _plain_value(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        fits = 0 < len(value) <= CELL_CHARS and value not in ERROR_CODES  # "#N/A": an error
        return fits and not ILLEGAL_CHARACTERS_RE.search(value)
    if kind is Cell:
        plain = value.data_type in CELL_TYPES and type(value._value) is not CellRichText
        return plain and value.hyperlink is None and value._comment is None
    return value is None or kind is int or kind is Decimal


def _text(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr">{_inline(text)}</c>'


def _inline(text: str) -> str:
    stripped = text.strip()
    space = ' xml:space="preserve"' if stripped and stripped != text else ""
    return f"<is><t{space}>{escape(text)}</t></is>"


def _formula(ref: str, text: str) -> str:
    if len(text) == 1:  # "=" alone is text to openpyxl
        return _text(ref, text)
    return f'<c r="{ref}"><f>{escape(text[1:])}</f><v /></c>'


def _number(ref: str, number: int | Decimal) -> str:
    return f'<c r="{ref}" t="n">{_value(number)}</c>'


def _value(number: Any) -> str:
    text = safe_string(number)  # "" for NaN and infinities
    return f"<v>{text}</v>" if text else "<v />"


def _cell(cell: Cell) -> str:
    """What openpyxl's `etree_write_cell` writes for a cell of text, a number or a date."""
    value, attributes = _set_attributes(cell, cell.has_style)  # a date as Excel's number
    head = "<c" + "".join(f' {name}="{text}"' for name, text in attributes.items())
    if value is None or value == "":
        return head + " />"
    return f"{head}>{_inline(value) if cell.data_type == 's' else _value(value)}</c>"
