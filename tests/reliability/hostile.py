"""The hostile-input corpus: every workbook is written by code here, none is checked in.

Each `Case` builds one file from a few real keys and says how its job must end: refused in one
sentence (`refusal` is a piece of that sentence), or run with `rows` rows in the job, of which
`failed` fail each with a sentence. Raw `.xlsx` files are zipped by hand (`raw_xlsx`) where
openpyxl would refuse to write the hostile part.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook

from exmado_tui.workbook.checks import OLE_SIGNATURE

HEADER = "Invoice number"
MB = 1024 * 1024
Build = Callable[[Path, list[str]], Path]


@dataclass(frozen=True)
class Case:
    name: str
    build: Build
    refusal: str = ""  # a piece of the one sentence that refuses the workbook
    rows: int = 0  # otherwise: rows in the job
    failed: int = 0  # of which failed, each with its sentence
    failure: str = ""  # a piece of every failed row's sentence
    big: bool = False  # tens of MB unpacked: the reader's bounds, not only its sentences


# -- writing files --------------------------------------------------------------------------

SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
PKG = "http://schemas.openxmlformats.org/package/2006"
DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<Types xmlns="{PKG}/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{SML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SML}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SML}.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<Relationships xmlns="{PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{DOC}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{DOC}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<Relationships xmlns="{PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<dimension ref="{ref}"/><sheetData>'
)
SHEET_CLOSE = "</sheetData></worksheet>"
SST_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def row_xml(number: int, *cells: str) -> str:
    return f'<row r="{number}">{"".join(cells)}</row>'


def key_rows(keys: list[str], first: int = 2) -> str:
    return "".join(row_xml(first + i, text_cell(f"A{first + i}", k)) for i, k in enumerate(keys))


def raw_xlsx(
    path: Path,
    rows: str | Iterator[str],
    *,
    ref: str = "A1",
    strings: str | Iterator[str] = "",
    doctype: str = "",
) -> Path:
    """An .xlsx from sheet XML (`rows`, streamed when an iterator) and shared-string XML."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        _stream(archive, "xl/sharedStrings.xml", doctype + SST_OPEN, strings, "</sst>")
        head = doctype + SHEET_OPEN.format(ref=ref) + row_xml(1, text_cell("A1", HEADER))
        _stream(archive, "xl/worksheets/sheet1.xml", head, rows, SHEET_CLOSE)
    return path


def _stream(
    archive: zipfile.ZipFile, name: str, head: str, body: str | Iterator[str], tail: str
) -> None:
    with archive.open(name, "w", force_zip64=True) as part:
        part.write(head.encode())
        for piece in [body] if isinstance(body, str) else body:
            part.write(piece.encode())
        part.write(tail.encode())


def book(path: Path, rows: list[list[object]], header: list[object] | None = None) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header or [HEADER, "Comment"])
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def csv_file(path: Path, text: str, encoding: str = "utf-8", bom: bytes = b"") -> Path:
    path.write_bytes(bom + text.encode(encoding))
    return path


# -- the cases ------------------------------------------------------------------------------


def _empty(folder: Path, keys: list[str]) -> Path:
    (folder / "empty.xlsx").write_bytes(b"")
    return folder / "empty.xlsx"


def _header_only(folder: Path, keys: list[str]) -> Path:
    return book(folder / "header-only.xlsx", [])


def _escape_in_name(folder: Path, keys: list[str]) -> Path:
    """A file name holding ESC: the worker's refusal names it, in an event and the log."""
    return csv_file(folder / "keys\x1b[31m.csv", f"{HEADER}\n")


def _empty_sheet(folder: Path, keys: list[str]) -> Path:
    path = folder / "empty-sheet.xlsx"
    Workbook().save(path)
    return path


def _duplicate_headers(folder: Path, keys: list[str]) -> Path:
    return book(folder / "dup.xlsx", [[k, k] for k in keys], header=[HEADER, HEADER])


def _duplicate_other_headers(folder: Path, keys: list[str]) -> Path:
    rows = [[k, "a", "b"] for k in keys]
    return book(folder / "dup-other.xlsx", rows, header=[HEADER, "Note", "Note"])


def _merged_headers(folder: Path, keys: list[str]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Export of invoices", None])
    sheet.merge_cells("A1:B1")
    sheet.append([HEADER, "Supplier"])
    for key in keys:
        sheet.append([key, "ACME"])
    workbook.save(folder / "merged.xlsx")
    return folder / "merged.xlsx"


def _na(folder: Path, keys: list[str]) -> Path:
    rows = [[k] for k in keys] + [["#N/A"], ["#REF!"]]
    return book(folder / "na.xlsx", rows)


def _dates(folder: Path, keys: list[str]) -> Path:
    return book(folder / "dates.xlsx", [[k, date(2024, 3, 1)] for k in keys])


def _date_keys(folder: Path, keys: list[str]) -> Path:
    return book(folder / "date-keys.xlsx", [[date(2024, 3, i + 1)] for i in range(len(keys))])


def _leading_zeros(folder: Path, keys: list[str]) -> Path:
    return book(folder / "zeros.xlsx", [[f"000{i}"] for i in range(len(keys))])


def _xls(folder: Path, keys: list[str]) -> Path:
    (folder / "old.xls").write_bytes(OLE_SIGNATURE + bytes(504))
    return folder / "old.xls"


def _encrypted(folder: Path, keys: list[str]) -> Path:
    (folder / "locked.xlsx").write_bytes(OLE_SIGNATURE + bytes(504))
    return folder / "locked.xlsx"


def _renamed_text(folder: Path, keys: list[str]) -> Path:
    (folder / "notes.xlsx").write_text("Invoice number\nINV-1\n")
    return folder / "notes.xlsx"


def _truncated(folder: Path, keys: list[str]) -> Path:
    data = book(folder / "whole.xlsx", [[k] for k in keys]).read_bytes()
    (folder / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    return folder / "truncated.xlsx"


def _csv(name: str, text: Callable[[list[str]], str], encoding: str, bom: bytes = b"") -> Build:
    def build(folder: Path, keys: list[str]) -> Path:
        return csv_file(folder / name, text(keys), encoding, bom)

    return build


def _lines(delimiter: str) -> Callable[[list[str]], str]:
    return lambda keys: (
        "\n".join([f"{HEADER}{delimiter}Société"] + [f"{k}{delimiter}Müller" for k in keys]) + "\n"
    )


def _control_keys(keys: list[str]) -> str:
    return f"{HEADER}\n" + "".join(f"{k}\x00\x07\x1b[31m\n" for k in keys)


def _long_line(folder: Path, keys: list[str]) -> Path:
    return csv_file(folder / "long-line.csv", f"{HEADER}\n{keys[0]}\n" + "x" * (3 * MB) + "\n")


def _csv_wide(folder: Path, keys: list[str]) -> Path:
    fields = ";".join(f"c{i}" for i in range(2000))
    return csv_file(folder / "wide.csv", f"{HEADER};{fields}\n{keys[0]};{fields}\n")


def _csv_long_field(folder: Path, keys: list[str]) -> Path:
    return csv_file(folder / "long-field.csv", f"{HEADER};Note\n{keys[0]};{'x' * 40_000}\n")


def _traversal(folder: Path, keys: list[str]) -> Path:
    values = ["../../etc/passwd", "CON", "NUL.txt", "a/../../b", "..", "COM1"]
    return book(folder / "traversal.xlsx", [[v] for v in values] + [[k] for k in keys])


def _uncached_formula(folder: Path, keys: list[str]) -> Path:
    rows = key_rows(keys) + row_xml(len(keys) + 2, f'<c r="A{len(keys) + 2}"><f>1+1</f></c>')
    return raw_xlsx(folder / "formula.xlsx", rows, ref=f"A1:A{len(keys) + 2}")


def _declared_huge(folder: Path, keys: list[str]) -> Path:
    rows = key_rows(keys[:1]) + row_xml(1048576, text_cell("A1048576", keys[1]))
    return raw_xlsx(folder / "declared.xlsx", rows, ref="A1:XFD1048576")


def _million_rows(folder: Path, keys: list[str]) -> Path:
    """Every row of a sheet down to 1,048,576 in the file, all blank but a few keys."""

    def rows() -> Iterator[str]:
        yield key_rows(keys)
        batch = []
        for number in range(len(keys) + 2, 1048577):
            batch.append(f'<row r="{number}"/>')
            if len(batch) == 65536:
                yield "".join(batch)
                batch = []
        yield "".join(batch)

    return raw_xlsx(folder / "million.xlsx", rows(), ref="A1:A1048576")


def _wide(folder: Path, keys: list[str]) -> Path:
    header = [HEADER] + [f"Column {i}" for i in range(2, 1001)]
    return book(folder / "wide.xlsx", [[k] + ["v"] * 999 for k in keys], header=header)


def _too_wide(folder: Path, keys: list[str]) -> Path:
    rows = key_rows(keys) + row_xml(len(keys) + 2, text_cell(f"XFD{len(keys) + 2}", "far"))
    return raw_xlsx(folder / "too-wide.xlsx", rows, ref="A1:XFD9")


def _huge_cell(folder: Path, keys: list[str]) -> Path:
    """One 200 MB shared string: the issue's 409 KB file that took the worker to 3 GB."""

    def strings() -> Iterator[str]:
        yield "<si><t>"
        for _ in range(200):
            yield "A" * MB
        yield "</t></si>"

    return raw_xlsx(folder / "huge-cell.xlsx", key_rows(keys), strings=strings())


def _whitespace(folder: Path, keys: list[str]) -> Path:
    """120 MB of whitespace between two cells: under the size limit, not under the ratio."""
    rows = iter([key_rows(keys[:1]), *(" " * MB for _ in range(120)), key_rows(keys[1:], 3)])
    return raw_xlsx(folder / "whitespace.xlsx", rows)


def _long_cell(folder: Path, keys: list[str]) -> Path:
    """A 1 MB key of varied text: compresses like real text, only its length gives it away."""
    text = "".join(f"{i:07d}" for i in range(150_000))
    return raw_xlsx(folder / "long-cell.xlsx", key_rows([keys[0], text]))


def _shared_strings(folder: Path, keys: list[str], used: int = 0) -> Path:
    """600,000 distinct shared strings (16 MB) for one used cell, the `used`th."""

    def strings() -> Iterator[str]:
        for start in range(0, 600_000, 50_000):
            yield "".join(f"<si><t>S{i:09d}</t></si>" for i in range(start, start + 50_000))

    rows = row_xml(2, f'<c r="A2" t="s"><v>{used}</v></c>')
    return raw_xlsx(folder / f"strings-{used}.xlsx", rows, strings=strings())


def _last_shared_string(folder: Path, keys: list[str]) -> Path:
    return _shared_strings(folder, keys, used=599_999)


def _styles(folder: Path, keys: list[str]) -> Path:
    """20 MB of distinct fonts in xl/styles.xml: openpyxl would build an object for each."""
    path = raw_xlsx(folder / "styles.xlsx", key_rows(keys))
    fonts = "".join(
        f'<font><name val="F{i:07d}"/><sz val="{i % 90 + 6}"/></font>' for i in range(400_000)
    )
    styles = f'<styleSheet xmlns="{MAIN}"><fonts count="400000">{fonts}</fonts></styleSheet>'
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/styles.xml", styles)
    return path


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
EXTERNAL_ENTITY = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'


def _entities(name: str, doctype: str) -> Build:
    def build(folder: Path, keys: list[str]) -> Path:
        rows = key_rows(keys) + row_xml(len(keys) + 2, text_cell(f"A{len(keys) + 2}", "&lol9;"))
        return raw_xlsx(folder / name, rows.replace("&amp;", "&"), doctype=doctype)

    return build


def _bomless_utf16(folder: Path, keys: list[str]) -> Path:
    return csv_file(folder / "utf16.csv", _lines(";")(keys), "utf-16-le")


CASES = [
    Case("empty file", _empty, refusal="is empty (0 bytes)"),
    Case("empty sheet", _empty_sheet, refusal="is empty; put a header row"),
    Case("header only", _header_only, refusal="has a header row but no data rows"),
    Case(
        "ESC in the file name",
        _escape_in_name,
        refusal="keys\\x1b[31m.csv has a header row but no data rows",
    ),
    Case("duplicate mapped header", _duplicate_headers, refusal="twice in header row 1"),
    Case("duplicate other headers", _duplicate_other_headers, rows=3),
    Case("merged title above the header", _merged_headers, rows=3),
    Case("#N/A and #REF! keys", _na, rows=5, failed=2, failure="holds the Excel error"),
    Case("dates beside the keys", _dates, rows=3),
    Case("dates as keys", _date_keys, rows=3),
    Case("leading zeros", _leading_zeros, rows=3),
    Case(".xls", _xls, refusal="old Excel 97–2003 format"),
    Case("encrypted", _encrypted, refusal="password-protected"),
    Case("text named .xlsx", _renamed_text, refusal="is not an Excel workbook"),
    Case("truncated zip", _truncated, refusal="save it again as .xlsx"),
    Case("CSV utf-8 comma", _csv("comma.csv", _lines(","), "utf-8"), rows=3),
    Case("CSV utf-8 BOM semicolon", _csv("bom.csv", _lines(";"), "utf-8", codecs.BOM_UTF8), rows=3),
    Case("CSV cp1252 tab", _csv("tab.csv", _lines("\t"), "cp1252"), rows=3),
    Case("CSV pipe", _csv("pipe.csv", _lines("|"), "utf-8"), rows=3),
    Case("CSV utf-16 with BOM", _csv("u16.csv", _lines(";"), "utf-16"), rows=3),
    Case("CSV utf-16 without BOM", _bomless_utf16, refusal="UTF-16 (little-endian)"),
    Case("CSV control characters in keys", _csv("ctl.csv", _control_keys, "utf-8"), rows=3),
    Case("CSV 3 MB line", _long_line, refusal="line 3, is longer than"),
    Case("CSV 2,000 columns", _csv_wide, refusal="has 2,001 fields, more than the 1,000"),
    Case("CSV 40,000-character field", _csv_long_field, refusal="field longer than 32,767"),
    Case("reserved names and ../", _traversal, rows=9),
    Case(
        "formula without saved value",
        _uncached_formula,
        rows=4,
        failed=1,
        failure="cell A5 is a formula with no saved value",
    ),
    Case("declares A1:XFD1048576", _declared_huge, rows=2),
    Case("1,048,576-row sheet", _million_rows, rows=3, big=True),
    Case("1,000 columns", _wide, rows=3),
    Case("a value in column XFD", _too_wide, refusal="cell XFD5, beyond the 1,000 columns"),
    Case("200 MB cell (zip bomb)", _huge_cell, refusal="max_unpacked_mb", big=True),
    Case("120 MB of whitespace", _whitespace, refusal="max_ratio", big=True),
    Case("1 MB cell", _long_cell, refusal="max_cell_chars"),
    Case("600,000 shared strings, the first used", _shared_strings, rows=1, big=True),
    Case("600,000 shared strings, the last used", _last_shared_string, rows=1, big=True),
    Case("20 MB of styles", _styles, refusal="max_other_part_mb", big=True),
    Case(
        "billion laughs", _entities("laughs.xlsx", BILLION_LAUGHS), refusal="declares XML entities"
    ),
    Case(
        "external entity", _entities("xxe.xlsx", EXTERNAL_ENTITY), refusal="declares XML entities"
    ),
]


def sheet_bytes(path: Path) -> int:
    """The unpacked size of a workbook's parts, for the record."""
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        return sum(i.file_size for i in archive.infolist())
