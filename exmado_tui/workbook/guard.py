"""Limits a workbook must respect before it is parsed, so a zip bomb costs nothing to refuse.

An `.xlsx` is a zip of XML parts. Its central directory says how big each part unpacks to (and
`zipfile` never reads past that size), so the total and the compression ratio are checked from
the directory alone; then each XML part is unpacked in chunks, without parsing, to find its
longest text between two tags — a cell's value can be no longer, and a cell of 400 MB or a
gigabyte of whitespace shows there. Each refusal is one sentence with the limit and the
`[workbooks]` setting that raises it.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from exmado_tui.errors import WorkbookError

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
