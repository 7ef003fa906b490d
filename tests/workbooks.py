"""Small workbooks for tests: written with openpyxl, read back through Éxmado's reader."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import openpyxl

from exmado_tui.workbook.reader import open_workbook

INVOICE_COLUMNS = ("Invoice number",)  # the key column of the `invoices` profile


def write_workbook(
    path: Path, rows: Iterable[Sequence[Any]], header: Sequence[str] = INVOICE_COLUMNS
) -> Path:
    """One sheet: `header`, then `rows`."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def make_xlsx(
    path: Path, rows: list[list[Any]], sheets: dict[str, list[list[Any]]] | None = None
) -> Path:
    """`rows` as they are on a sheet named Sheet1 (no header added), and more named `sheets`."""
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    for row in rows:
        book.active.append(row)
    for name, extra in (sheets or {}).items():
        ws = book.create_sheet(name)
        for row in extra:
            ws.append(row)
    book.save(path)
    return path


def read_all(path: Path, columns: Sequence[str] = INVOICE_COLUMNS, **options: Any) -> tuple:
    """The layout the reader found and every row it read."""
    with open_workbook(path, columns, **options) as reader:
        return reader.layout, list(reader.rows())
