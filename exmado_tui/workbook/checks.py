"""What a file must pass to be read as a workbook and become a job's, each refusal one
sentence naming the file: its path and name, before it is opened (Excel's `~$` lock files told
apart); what it is and the limits it must respect, before it is parsed, so that a zip bomb costs
nothing to refuse; its sheet and mapped columns and at least one data row; and the private copy
a job keeps of it.

What it is: Excel or CSV by its first bytes and its name. `.xlsx`/`.xlsm` are ZIP archives;
`.xls` (an OLE compound file) and encrypted workbooks (an OLE file under an .xlsx name) are
refused, as is anything that is not a workbook. A CSV's encoding is utf-8-sig or utf-16 by its
byte-order mark, else utf-8, else cp1252, else latin-1; UTF-16 text without a byte-order mark is
refused. A CSV line longer than `CSV_LINE_CELLS` longest cells is refused before it is read
whole.

The limits: an `.xlsx` is a zip of XML parts. Its central directory says how big each part
unpacks to (and `zipfile` never reads past that size), so the total and the compression ratio
are checked from the directory alone; then each XML part is unpacked in chunks, without parsing,
to find its longest text between two tags — a cell's value can be no longer, and a cell of 400
MB or a gigabyte of whitespace shows there. Each refusal is one sentence with the limit and the
`[workbooks]` setting that raises it.

Also how a workbook's column headers and a profile's column names are compared
(`normalise_header`), and whether a workbook is open in Excel now. None of it loads openpyxl:
the settings (`WorkbookLimits`), templates, the report and the workers' rows use it without it.

Excel's lock files: while Excel has `march.xlsx` open it keeps `~$march.xlsx` beside it (a long
name loses its first two characters instead: `~$rch-2024.xlsx`).
"""

from __future__ import annotations

import codecs
import csv
import functools
import itertools
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exmado_tui.errors import WorkbookError
from exmado_tui.files import is_utf8, private_folder, read_with_sha256, shown, write_private

if TYPE_CHECKING:
    from exmado_tui.workbook.reader import WorkbookReader

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
WORKBOOK_SUFFIXES = (*EXCEL_SUFFIXES, ".csv")
OLD_FORMAT = "is in the old Excel 97–2003 format; open it in Excel and save it as .xlsx."


# -- its path and name, before it is opened -----------------------------------------------------


def check_workbook_path(path: Path) -> None:
    """Refuse, in one sentence, a path that cannot be a workbook we read."""
    if path.is_dir():
        raise WorkbookError(f"Workbook {path} is a folder, not a file.")
    if not path.is_file():
        raise WorkbookError(f"Workbook {path} does not exist.")
    check_workbook_name(path)


def check_workbook_name(path: Path) -> None:
    """Refuse, in one sentence and without opening it, a file whose name says it is no workbook
    we read (or that no store could record)."""
    if not is_utf8(path.name):
        raise WorkbookError(
            f"Workbook {shown(path.name)} has a name that is not valid UTF-8 (written in another"
            " system's encoding); rename it and try again."
        )
    if is_lock_file(path.name):
        raise WorkbookError(lock_file_sentence(path))
    name, suffix = shown(path.name), path.suffix.lower()
    if suffix == ".xls":
        raise WorkbookError(f"Workbook {name} {OLD_FORMAT}")
    if suffix not in WORKBOOK_SUFFIXES:
        raise WorkbookError(
            f"Workbook {name} is not an Excel workbook (.xlsx, .xlsm) or a CSV file."
        )


# -- what it is, before it is parsed ------------------------------------------------------------

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"
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
            raise WorkbookError(f"Workbook {name} {OLD_FORMAT}")
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


# -- its limits, before it is parsed ------------------------------------------------------------

MB = 1024 * 1024
CHUNK = MB
RATIO_FLOOR = MB  # parts smaller than this may compress as well as they like: they cost nothing
# Parts read as they stream by; every other part (styles, workbook, relationships…) openpyxl
# parses whole into objects, at about 30 times its size (19 MB of fonts took 560 MB).
STREAMED = ("xl/worksheets/", "xl/sharedStrings.xml")
UTF8_MAX = 4  # bytes per character at most; the scan counts bytes, the limit is in characters


@dataclass(frozen=True)
class WorkbookLimits:
    """`[workbooks]` in config/exmado.toml: what a real list of keys never exceeds."""

    max_unpacked_mb: float = 150
    max_other_part_mb: float = 4
    max_ratio: float = 100
    max_cell_chars: int = 32767
    max_columns: int = 1000

    @property
    def max_text_bytes(self) -> int:
        return self.max_cell_chars * UTF8_MAX


def setting(key: str) -> str:
    return f"[workbooks] {key} in config/exmado.toml"


def check_archive(
    path: Path, name: str, limits: WorkbookLimits, tick: Callable[[], None] = lambda: None
) -> None:
    """Refuse, in one sentence, a zip whose parts are too big, too compressed or hold a cell
    longer than a cell can be; parts that are not XML are not read."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            _check_sizes(parts, name, limits)
            for part in parts:
                if part.filename.endswith((".xml", ".rels")):
                    _check_text_runs(archive, part, name, limits, tick)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        raise WorkbookError(
            f"Workbook {name} cannot be read as an Excel workbook ({type(exc).__name__}); "
            "open it in Excel and save it again as .xlsx."
        ) from None


def _check_sizes(parts: list[zipfile.ZipInfo], name: str, limits: WorkbookLimits) -> None:
    total = sum(p.file_size for p in parts)
    if total > limits.max_unpacked_mb * MB:
        raise WorkbookError(
            f"Workbook {name} unpacks to {total / MB:,.0f} MB, more than the "
            f"{limits.max_unpacked_mb:g} MB a list of keys needs; "
            f"{setting('max_unpacked_mb')} raises the limit."
        )
    for part in parts:
        if (
            not part.filename.startswith(STREAMED)
            and part.file_size > limits.max_other_part_mb * MB
        ):
            raise WorkbookError(
                f"Workbook {name}: its part {part.filename} unpacks to "
                f"{part.file_size / MB:,.1f} MB, more than the {limits.max_other_part_mb:g} MB "
                f"such a part of a list of keys needs; {setting('max_other_part_mb')} raises "
                "the limit."
            )
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > RATIO_FLOOR and ratio > limits.max_ratio:
            raise WorkbookError(
                f"Workbook {name}: its part {part.filename} is compressed {ratio:,.0f} to 1, "
                f"more than the {limits.max_ratio:g} to 1 a real workbook reaches (a zip bomb?); "
                f"{setting('max_ratio')} raises the limit."
            )


def _check_text_runs(
    archive: zipfile.ZipFile,
    part: zipfile.ZipInfo,
    name: str,
    limits: WorkbookLimits,
    tick: Callable[[], None],
) -> None:
    longest = limits.max_text_bytes
    carry = b""  # the text after the last '<' seen, continued in the next chunk
    with archive.open(part) as stream:
        while chunk := stream.read(CHUNK):
            tick()
            text = carry + chunk
            if _longest_run(text, longest) > longest:
                raise WorkbookError(
                    f"Workbook {name}: its part {part.filename} holds a cell or text longer "
                    f"than {limits.max_cell_chars:,} characters (Excel's own limit is 32,767); "
                    f"{setting('max_cell_chars')} raises the limit."
                )
            carry = text[text.rfind(b"<") + 1 :]


def _longest_run(text: bytes, limit: int) -> int:
    """The length of a run of bytes without '<' longer than `limit`, or 0 when there is none.

    Any such run covers a whole window of `limit // 2` bytes starting at a multiple of it, so
    only windows holding no '<' at all are measured: a few C-speed `find` calls per chunk.
    """
    step = max(1, limit // 2)
    for start in range(0, len(text), step):
        if text.find(b"<", start, start + step) != -1 or start + step > len(text):
            continue
        begin = text.rfind(b"<", 0, start) + 1
        end = text.find(b"<", start + step)
        run = (len(text) if end == -1 else end) - begin
        if run > limit:
            return run
    tail = len(text) - text.rfind(b"<") - 1
    return tail if tail > limit else 0


# -- its sheet, columns and rows, and the job's copy --------------------------------------------


def open_checked_workbook(
    path: Path,
    columns: Sequence[str],
    *,
    sheet: str = "",
    header_row: int = 0,
    limits: WorkbookLimits | None = None,
) -> WorkbookReader:
    """The workbook opened past its header, having found the sheet and every mapped column;
    else WorkbookError in the one sentence the New-job form and `jobs create` both show."""
    from exmado_tui.workbook.reader import open_workbook  # openpyxl: only when a workbook is opened

    check_workbook_path(path)
    return open_workbook(path, list(columns), sheet=sheet, header_row=header_row, limits=limits)


def check_workbook(
    path: Path, snapshot: dict[str, Any], limits: WorkbookLimits | None = None
) -> None:
    """Refuse a workbook the job's settings cannot read, before anything is stored."""
    from exmado_tui.workbook.reader import no_data_rows

    with open_checked_workbook(
        path,
        list(snapshot["columns"]),
        sheet=snapshot.get("sheet") or "",
        header_row=snapshot.get("header_row") or 0,
        limits=limits,
    ) as reader:
        if next(reader.rows(), None) is None:
            raise no_data_rows(reader.name, reader.layout.sheet)


def keep_private_copy(source: Path, target: Path) -> tuple[bytes, str]:
    """Copy `source` to `target` in an owner-only folder, reading it once: the bytes copied (the
    job store keeps them too) and their SHA-256."""
    private_folder(target.parent)
    content, sha256 = read_with_sha256(source)
    write_private(target, content)
    return content, sha256


def normalise_header(text: Any) -> str:
    """Header text for matching: no accents, case-folded, single spaces."""
    return _normalised(str(text or ""))


@functools.lru_cache(maxsize=256)  # the same few headers, every row (a cell: 32,767 chars at most)
def _normalised(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


# -- Excel's lock files -------------------------------------------------------------------------

LOCK_PREFIX = "~$"


def is_lock_file(name: str) -> bool:
    return name.startswith(LOCK_PREFIX)


def locked_workbook(lock: Path) -> Path | None:
    """The workbook beside `lock` that it belongs to, if it is there."""
    return next((p for p in _neighbours(lock) if _belongs(lock.name, p.name)), None)


def lock_file_of(workbook: Path) -> Path | None:
    """Excel's lock file beside `workbook` (it is open in Excel), if there is one."""
    return next((p for p in _neighbours(workbook) if _belongs(p.name, workbook.name)), None)


def lock_file_sentence(lock: Path) -> str:
    """Why a lock file passed as a workbook is refused, naming the workbook."""
    workbook = locked_workbook(lock)
    which = (
        shown(workbook.name)
        if workbook
        else f"the workbook whose name ends in {shown(lock.name[len(LOCK_PREFIX) :])}"
    )
    return (
        f"{shown(lock.name)} is the lock file Excel keeps beside {which} while it is open, not a "
        "workbook; save and close it in Excel, then use the workbook itself."
    )


def open_in_excel_warning(workbook: Path) -> str:
    """A warning when `workbook` is open in Excel; empty when it is not."""
    lock = lock_file_of(workbook)
    if lock is None:
        return ""
    return (
        f"{shown(workbook.name)} is open in Excel (its lock file {shown(lock.name)} is beside it):"
        " the job has the workbook as last saved; changes not saved yet are not in it."
    )


def _belongs(lock: str, workbook: str) -> bool:
    rest = lock[len(LOCK_PREFIX) :]
    return (
        is_lock_file(lock)
        and not is_lock_file(workbook)
        and bool(rest)
        and (workbook == rest or (len(workbook) == len(lock) and workbook[2:] == rest))
    )


def _neighbours(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.parent.iterdir() if p != path)
    except OSError:
        return []
