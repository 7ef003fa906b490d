"""Deterministic file bytes: valid PDFs, PNG and TIFF images, .docx/.xlsx files and ZIPs."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Sequence
from xml.sax.saxutils import escape

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "tiff": "image/tiff",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
EXTENSIONS = {
    "pdf": ".pdf",
    "png": ".png",
    "tiff": ".tif",
    "docx": ".docx",
    "xlsx": ".xlsx",
    "zip": ".zip",
}
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
MIN_SIZE = 8 * 1024  # every generated file fits below this before padding


def padded(data: bytes, kind: str, size: int) -> bytes:
    """The same file grown to exactly size bytes in a way its format ignores."""
    missing = size - len(data)
    if missing <= 0:
        return data
    if kind == "pdf":
        objects = _pdf_objects(data)
        grown = _pdf_assemble(objects, pad=missing)  # offsets may gain a digit: correct once
        return _pdf_assemble(objects, pad=missing - (len(grown) - size))
    if kind == "png":
        return _pad_png(data, missing)
    if kind in ("docx", "xlsx", "zip"):
        return _pad_zip(data, missing)
    return data + bytes(missing)  # TIFF: bytes after the last strip are never referenced


def _pad_png(data: bytes, missing: int) -> bytes:
    # an ancillary private chunk before IEND; a chunk costs 12 bytes of framing
    if missing < 12:
        return data
    chunk = _png_chunk(b"pADd", bytes(missing - 12))
    return data[:-12] + chunk + data[-12:]


def _pad_zip(data: bytes, missing: int) -> bytes:
    # the archive comment (length field at the end of the end-of-central-directory record)
    count = min(missing, 0xFFFF)
    return data[:-2] + struct.pack("<H", count) + b" " * count


def render(kind: str, title: str, lines: Sequence[str], pages: int, salt: int) -> bytes:
    """The bytes of one file of the given kind, fully determined by the arguments."""
    if kind == "pdf":
        return pdf([[title, *lines, f"Page {n + 1} of {pages}"] for n in range(pages)], title)
    if kind == "png":
        return png(96, 64, salt)
    if kind == "tiff":
        return tiff(64, 48, salt)
    if kind == "docx":
        return docx(title, lines)
    if kind == "xlsx":
        return xlsx(title, lines)
    raise ValueError(f"unknown file kind {kind!r}")


def pdf(pages: Sequence[Sequence[str]], title: str = "") -> bytes:
    """A valid PDF 1.4 with one page per entry, each showing its lines in Helvetica."""
    page_ids = [4 + 2 * n for n in range(len(pages))]
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % i for i in page_ids)
        + b"] /Count %d >>" % len(pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for n, lines in enumerate(pages):
        stream = _pdf_text(lines)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * n)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Title (" + _pdf_string(title) + b") /Producer (Exmado sandbox) >>")
    return _pdf_assemble(objects)


def _pdf_objects(data: bytes) -> list[bytes]:
    """The object bodies of a PDF made by pdf(), in order."""
    parts = data.split(b" 0 obj\n")[1:]
    return [part.split(b"\nendobj\n")[0] for part in parts]


def _pdf_assemble(objects: list[bytes], pad: int = 0) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    if pad >= 2:  # a comment line before the first object, so the file has an exact size
        out += b"%" + b"x" * (pad - 2) + b"\n"
    elif pad == 1:
        out += b"\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, len(objects))
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _pdf_text(lines: Sequence[str]) -> bytes:
    parts = [b"BT /F1 11 Tf 14 TL 50 790 Td"]
    parts += [b"(" + _pdf_string(line[:110]) + b") '" for line in lines[:50]]
    parts.append(b"ET")
    return b"\n".join(parts)


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def png(width: int, height: int, salt: int) -> bytes:
    """A valid RGB PNG with a gradient whose colours depend on salt."""
    r0, g0, b0 = salt % 251, (salt * 7) % 253, (salt * 13) % 255
    rows = bytearray()
    for y in range(height):
        raw = bytearray()
        for x in range(width):
            raw += bytes(((r0 + x * 2) % 256, (g0 + y * 3) % 256, (b0 + x + y) % 256))
        rows.append(1)  # filter "Sub": store differences to the pixel on the left
        rows += bytes((raw[i] - (raw[i - 3] if i >= 3 else 0)) % 256 for i in range(len(raw)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tiff(width: int, height: int, salt: int) -> bytes:
    """A valid little-endian, uncompressed 8-bit greyscale baseline TIFF."""
    pixels = bytes((x * 4 + y * 2 + salt) % 256 for y in range(height) for x in range(width))
    entries = [
        (256, 3, 1, width),
        (257, 3, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 0),
        (277, 3, 1, 1),
        (278, 3, 1, height),
        (279, 4, 1, len(pixels)),
        (282, 5, 1, 0),
        (283, 5, 1, 0),
        (296, 3, 1, 2),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    res_offset = 8 + ifd_size
    pixel_offset = res_offset + 16
    values = {273: pixel_offset, 282: res_offset, 283: res_offset + 8}
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        value = values.get(tag, value)
        packed = struct.pack("<HI", value, 0)[:4] if typ == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, typ, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<IIII", 72, 1, 72, 1) + pixels


def docx(title: str, lines: Sequence[str]) -> bytes:
    """A minimal but valid WordprocessingML document with one paragraph per line."""
    body = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{escape(t)}</w:t></w:r></w:p>'
        for t in (title, *lines)
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    return zip_bytes(
        [
            (
                "[Content_Types].xml",
                _content_types(
                    "/word/document.xml",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                ),
            ),
            ("_rels/.rels", _rels("word/document.xml")),
            ("word/document.xml", document.encode()),
        ]
    )


def xlsx(title: str, lines: Sequence[str]) -> bytes:
    """A minimal but valid SpreadsheetML workbook with one inline-string row per line."""
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{escape(t)}</t></is></c></row>'
        for n, t in enumerate((title, *lines), start=1)
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>{rows}'
        "</sheetData></worksheet>"
    )
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" '
        f'xmlns:r="{rel_ns}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>'
        "</sheets></workbook>"
    )
    wb_rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns='
        '"http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel_ns}/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'
    )
    types = _content_types(
        "/xl/workbook.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        (
            "/xl/worksheets/sheet1.xml",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
        ),
    )
    return zip_bytes(
        [
            ("[Content_Types].xml", types),
            ("_rels/.rels", _rels("xl/workbook.xml")),
            ("xl/workbook.xml", workbook.encode()),
            ("xl/_rels/workbook.xml.rels", wb_rels.encode()),
            ("xl/worksheets/sheet1.xml", sheet.encode()),
        ]
    )


def _content_types(main_part: str, main_type: str, *extra: tuple[str, str]) -> bytes:
    overrides = "".join(
        f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in ((main_part, main_type), *extra)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns='
        '"http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'
    ).encode()


def _rels(target: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns='
        '"http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
        'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'officeDocument" Target="{target}"/></Relationships>'
    ).encode()


def zip_bytes(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A deflated ZIP of (name, bytes) members with fixed timestamps, so it is reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()
