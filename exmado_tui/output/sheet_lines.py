"""A write-only worksheet that writes a line of plain values as text: the report's sheets.

openpyxl's write-only sheet makes each value a cell and each cell an XML element, serialized
one by one (without lxml, by et_xmlfile): most of the CPU of a 100,000-row report. A line of
text, numbers, formulas and cell objects of text, a number or a date (a header, a date, text
kept from being a formula: openpyxl gives their style and type) is the same XML written as
one piece of text. A date is a `Dated`, not a cell: its number format's style is looked up
once per format, as openpyxl would register it, not a cell made per date. The bytes are
openpyxl's own (tests/unit/test_sheet_lines.py writes the
same lines both ways); a line holding anything else (empty text, a character a sheet refuses,
text longer than a cell, "#N/A", a float, a formula cell, a link, a comment) is openpyxl's
from end to end, its `Dated`s made cells.

It stands on openpyxl 3.1's write-only internals: `_write_rows`, the generator `append`
feeds; its stream's `_file`, the function that writes text into the sheet's part; and
`_set_attributes`, a cell's reference, style and type as its writer sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell._writer import _set_attributes  # type: ignore[attr-defined]  # not in stubs
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.cell.rich_text import CellRichText
from openpyxl.compat import safe_string
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

CELL_CHARS = 32767  # Excel's longest cell: openpyxl cuts longer text, so it writes that line
ERRORS = frozenset(ERROR_CODES)
CELL_TYPES = ("s", "n", "d")  # a cell object's kinds written here: text, a number, a date


class Dated(NamedTuple):
    """A date or time (naive) shown in `number_format`: the cell openpyxl would make of it.

    Its format is the workbook's once its line is written, a cell's once the cell is made:
    the same styles in the same order when a line's cells are made with it and none of the
    others has a number format (the report's lines)."""

    moment: datetime
    number_format: str


class LineSheet(WriteOnlyWorksheet):
    """A write-only worksheet whose `append` writes a line of plain values as one text."""

    # openpyxl's own, which its stubs do not list
    _writer: Any
    _values_to_row: Callable[[Sequence[Any], int], Iterator[Cell]]
    row_dimensions: Mapping[int, Any]

    def __init__(self, parent: Workbook, title: str) -> None:
        super().__init__(parent, title)
        self._date_styles: dict[str, str] = {}  # a number format's style id, as text
        self._epoch = parent.epoch
        self._column_letters: list[str] = []  # A, B…: as many as the longest line so far

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
                        cells = self._values_to_row(list(map(self._cell, values)), row_idx)
                        self._writer.write_row(xf, cells, row_idx)
                    row_idx += 1
            except GeneratorExit:
                pass
        self._writer.xf.send(None)

    def _plain(self, values: Sequence[Any], row_idx: int) -> bool:
        """Whether `_write_line` writes `values` as openpyxl would."""
        return row_idx not in self.row_dimensions and all(map(_plain_value, values))

    def _write_line(self, xf: Any, values: Sequence[Any], row_idx: int) -> None:
        row = str(row_idx)
        parts = [f'<row r="{row}">']
        letters = self._letters(len(values))
        for column, value in enumerate(values):
            if value is None:
                continue
            ref = letters[column] + row
            kind = type(value)
            if kind is str:
                parts.append(_formula(ref, value) if value[0] == "=" else _text(ref, value))
            elif kind is Dated:
                parts.append(self._date(ref, value))
            elif kind is Cell:
                value.column, value.row = column + 1, row_idx
                if value._value is not None or value.has_style:
                    parts.append(_cell(value))
            else:
                parts.append(_number(ref, value))
        parts.append("</row>")
        xf._file("".join(parts))

    def _letters(self, count: int) -> list[str]:
        """The letters of the first `count` columns (at least)."""
        letters = self._column_letters
        while len(letters) < count:
            letters.append(get_column_letter(len(letters) + 1))
        return letters

    def _date(self, ref: str, dated: Dated) -> str:
        """What openpyxl writes for the cell `_cell` makes of `dated`."""
        style = self._date_styles.get(dated.number_format)
        if style is None:
            # The first cell of the format registers it (and the first date openpyxl's own
            # date format), as every such cell did, in the same order.
            style = self._date_styles[dated.number_format] = str(self._cell(dated).style_id)
        number = _value(to_excel(dated.moment, self._epoch))
        return f'<c r="{ref}" s="{style}" t="n">{number}</c>'

    def _cell(self, value: Any) -> Any:
        """`value`, a `Dated` made the cell openpyxl writes."""
        if type(value) is not Dated:
            return value
        cell = WriteOnlyCell(self, value.moment)
        cell.number_format = value.number_format
        return cell


def line_sheet(book: Workbook, title: str) -> LineSheet:
    """A `LineSheet` added to `book` (a write-only workbook), as `create_sheet` adds its own."""
    sheet = LineSheet(parent=book, title=title)
    cast(Any, book)._add_sheet(sheet)  # as create_sheet does (its stubs do not list it)
    return sheet


def _plain_value(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        fits = 0 < len(value) <= CELL_CHARS and value not in ERRORS  # "#N/A": an error
        # printable text holds no control character (the check a sheet makes, done faster)
        return fits and (value.isprintable() or not ILLEGAL_CHARACTERS_RE.search(value))
    if kind is Dated:
        return value.moment.tzinfo is None  # openpyxl refuses a zone: its path says so
    if kind is Cell:
        plain = value.data_type in CELL_TYPES and type(value._value) is not CellRichText
        return plain and value.hyperlink is None and value._comment is None
    return value is None or kind is int or kind is Decimal


def _text(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr">{_inline(text)}</c>'


def _inline(text: str) -> str:
    # saxutils.escape's three replacements, without its call
    escaped = text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    # openpyxl's `whitespace`: kept when stripping would change the text and leave some
    if (text[0].isspace() or text[-1].isspace()) and not text.isspace():
        return f'<is><t xml:space="preserve">{escaped}</t></is>'
    return f"<is><t>{escaped}</t></is>"


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
