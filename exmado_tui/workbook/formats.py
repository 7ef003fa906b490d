"""What a workbook file is, before any parsing: Excel or CSV by its first bytes and its name, and
for a CSV its encoding, its dialect and its lines, bounded.

`.xlsx`/`.xlsm` are ZIP archives; `.xls` (an OLE compound file) and encrypted workbooks (an OLE
file under an .xlsx name) are refused, as is anything that is not a workbook, each with one
sentence naming the file. A CSV's encoding is utf-8-sig or utf-16 by its byte-order mark, else
utf-8, else cp1252, else latin-1; UTF-16 text without a byte-order mark is refused. A line
longer than `CSV_LINE_CELLS` longest cells is refused before it is read whole.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from exmado_tui.errors import WorkbookError
from exmado_tui.workbook.guard import setting

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
SNIFF_BYTES = 64 * 1024
CSV_DELIMITERS = ",;\t|"
CSV_LINE_CELLS = 32  # a CSV line may be this many longest cells long; longer is refused unread


def detect_kind(path: Path, name: str) -> str:
    """'excel' or 'csv' from the file's first bytes and its name; refuse anything else."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise WorkbookError(f"Workbook {name} cannot be opened ({exc.strerror}).") from None
    suffix = Path(name).suffix.lower()
    if not head:
        raise WorkbookError(f"Workbook {name} is empty (0 bytes); export it again.")
    if head.startswith(OLE_SIGNATURE):
        if suffix == ".xls":
            raise WorkbookError(
                f"Workbook {name} is in the old Excel 97–2003 format; "
                "open it in Excel and save it as .xlsx."
            )
        raise WorkbookError(
            f"Workbook {name} is password-protected (encrypted); "
            "remove the password in Excel (File › Info › Protect Workbook) and save it again."
        )
    if suffix == ".csv":
        return "csv"
    if suffix in EXCEL_SUFFIXES and head.startswith(ZIP_SIGNATURE):
        return "excel"
    if suffix in EXCEL_SUFFIXES:
        raise WorkbookError(
            f"Workbook {name} is not an Excel workbook although it is named {suffix} "
            "(it may be renamed or damaged); open it in Excel and save it as .xlsx."
        )
    raise WorkbookError(
        f"Workbook {name} is not an Excel workbook (.xlsx, .xlsm) or a CSV file; "
        "save it in one of those formats."
    )


def sniff_encoding(path: Path, name: str = "") -> str:
    """utf-8-sig or utf-16 by their BOM, else utf-8 if the whole file decodes, else cp1252,
    else latin-1. (Excel's "Unicode Text" export is UTF-16 with a BOM.) UTF-16 without a BOM
    is refused: it would decode as cp1252 into text with a NUL between every letter."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    if utf16 := _bomless_utf16(head):
        raise WorkbookError(
            f"Workbook {name or Path(path).name} looks like {utf16} text without a byte-order "
            "mark; save it as CSV UTF-8 (Excel: File › Save As › CSV UTF-8)."
        )
    for encoding in ("utf-8", "cp1252"):
        if _decodes(path, encoding):
            return encoding
    return "latin-1"


def _bomless_utf16(head: bytes) -> str:
    """'UTF-16 (little-endian)' or '(big-endian)' when most odd or even bytes are NUL."""
    if len(head) < 4:
        return ""
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "UTF-16 (little-endian)"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "UTF-16 (big-endian)"
    return ""


def bounded_lines(handle: Any, name: str, limit: int) -> Iterator[str]:
    """The file's lines, refusing one longer than `limit` characters before it is all read."""
    for number in itertools.count(1):
        line = handle.readline(limit + 1)
        if not line:
            return
        if len(line) > limit:
            raise WorkbookError(
                f"Workbook {name}, line {number}, is longer than {limit:,} characters "
                f"({CSV_LINE_CELLS} × {setting('max_cell_chars')}); a list of keys never is."
            )
        yield line


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def sniff_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    lines = sample.splitlines()
    text = "\n".join(lines[:-1] if len(lines) > 1 else lines)
    try:
        return csv.Sniffer().sniff(text, delimiters=CSV_DELIMITERS)
    except csv.Error:
        return csv.excel


def decoded_rows(reader: Iterable[list[str]], name: str) -> Iterator[list[str]]:
    try:
        yield from reader
    except (UnicodeDecodeError, csv.Error) as exc:
        raise WorkbookError(f"Workbook {name} cannot be read as CSV ({exc}).") from None
