"""`PlainTable`: a DataTable that shows text from data as written, never as markup."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets._data_table import CellType, ColumnKey, RowKey


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
