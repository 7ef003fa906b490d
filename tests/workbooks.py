"""Small workbooks for tests, written with openpyxl."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import openpyxl


def write_workbook(
    path: Path, rows: Iterable[Sequence[Any]], header: Sequence[str] = ("Invoice number",)
) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path
