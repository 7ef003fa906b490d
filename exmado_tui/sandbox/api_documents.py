"""Document endpoints: document, index fields (read/update), FileDownload, sections, data."""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from typing import Any
from urllib.parse import quote

from exmado_tui.sandbox import files, schema, wire
from exmado_tui.sandbox.api_search import require_cabinet
from exmado_tui.sandbox.data import date_ms
from exmado_tui.sandbox.schema import Document, Section
from exmado_tui.sandbox.search import SearchError, parse_date
from exmado_tui.sandbox.state import State
from exmado_tui.sandbox.wire import HttpError, Request, Response, json_response

TARGET_TYPES = {"auto": "Auto", "pdf": "PDF", "zip": "Zip"}


def document(state: State, req: Request) -> Response:
    """GET Documents/{doc}: the full document with all fields and sections."""
    return json_response(wire.document(_require_document(state, req), full=True))


def fields(state: State, req: Request) -> Response:
    """GET Documents/{doc}/Fields: {"Field": [...]}."""
    return json_response(_field_list(_require_document(state, req)))


def update_fields(state: State, req: Request) -> Response:
    """PUT Documents/{doc}/Fields with {"Field": [{FieldName, Item, ItemElementName}]}."""
    doc = _require_document(state, req)
    cab = schema.known_cabinet(doc.cabinet_id)
    body = req.json()
    entries = body.get("Field") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise HttpError(400, 'Expected {"Field": [...]} with the fields to change.')
    changes = dict(_field_change(cab, entry) for entry in entries)
    state.catalogue.update(doc, changes, int(time.time() * 1000))
    return json_response(_field_list(doc))


def add_document(state: State, req: Request) -> Response:
    """POST /_sandbox/documents with {"Field": [...]} as PUT Fields takes: a new invoice
    stored now, those fields over the ones generated for it; answers its id and fields."""
    body = req.json()
    entries = body.get("Field", []) if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise HttpError(400, 'Expected {"Field": [...]} with the new document\'s fields.')
    cab = schema.known_cabinet(schema.INVOICES_ID)
    changes = dict(_field_change(cab, entry) for entry in entries)
    doc = state.catalogue.add_invoice(changes, int(time.time() * 1000))
    return json_response({"Id": doc.id, **_field_list(doc)})


def delete_document(state: State, req: Request) -> Response:
    """DELETE Documents/{doc}: DocuWare answers 200 with an empty body."""
    state.catalogue.delete(_require_document(state, req))
    return Response(200)


def _field_list(doc: Document) -> dict[str, Any]:
    cab = schema.known_cabinet(doc.cabinet_id)
    return {"Field": [wire.index_field(f, doc.value(f.name)) for f in cab.all_fields]}


def _field_change(cab: schema.CabinetDef, entry: Any) -> tuple[str, Any]:
    name = entry.get("FieldName", "") if isinstance(entry, dict) else ""
    fdef = cab.field(name)
    if fdef is None:
        raise HttpError(422, f"The field '{name}' does not exist in file cabinet '{cab.name}'.")
    if fdef.system:
        raise HttpError(422, f"The field '{fdef.name}' is a system field and cannot be changed.")
    item = None if entry.get("IsNull") else entry.get("Item")
    try:
        return fdef.name, _convert(fdef, item)
    except (TypeError, ValueError, SearchError) as exc:
        raise HttpError(422, f"The value {item!r} is not valid for field {fdef.name}.") from exc


def _convert(fdef: schema.FieldDef, item: Any) -> Any:
    if item is None or item == "":
        return [] if fdef.element == "Keywords" else None
    if fdef.element == "Keywords":
        words = item.get("Keyword", []) if isinstance(item, dict) else item
        return [str(w) for w in ([words] if isinstance(words, str) else words)]
    if fdef.element in ("Date", "DateTime"):
        ms = _date_item(str(item))
        return date_ms(_utc_date(ms)) if fdef.element == "Date" else ms
    if fdef.element == "Int":
        return int(item)
    if fdef.element == "Decimal":
        return round(float(item), 2)
    text = str(item)
    if fdef.length and len(text) > fdef.length:
        raise ValueError("too long")
    return text


def _date_item(text: str) -> int:
    found = re.fullmatch(r"/Date\((-?\d+)([+-]\d{4})?\)/", text)
    return int(found[1]) if found else parse_date(text)


def _utc_date(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date()


def file_download(state: State, req: Request) -> Response:
    """GET Documents/{doc}/FileDownload?targetFileType=Auto|PDF|Zip&keepAnnotations=."""
    doc = _require_document(state, req)
    target = _target_type(req)
    if not doc.sections:
        raise HttpError(422, f"Document {doc.id} has no file to download.")
    if target == "Auto" and len(doc.sections) == 1:
        body, kind = doc.section_bytes(doc.sections[0]), doc.sections[0].kind
    elif target == "PDF":
        body, kind = _as_pdf(doc), "pdf"
    else:
        body, kind = _as_zip(doc), "zip"
    state.stats.record_download(doc.cabinet_id, str(doc.id))
    return _file(body, kind, doc.title + files.EXTENSIONS[kind])


def _target_type(req: Request) -> str:
    raw = req.query.get("targetfiletype", "Auto")
    if isinstance(body := _json_or_none(req), dict) and body.get("TargetFileType"):
        raw = str(body["TargetFileType"])
    target = TARGET_TYPES.get(raw.lower())
    if target is None:
        raise HttpError(422, f"targetFileType must be Auto, PDF or Zip, not '{raw}'.")
    keep = req.query.get("keepannotations", "false").lower()
    if keep not in ("true", "false", ""):
        raise HttpError(422, f"keepAnnotations must be true or false, not '{keep}'.")
    return target


def _json_or_none(req: Request) -> Any:
    return req.json() if req.method == "POST" and req.body else None


def _as_pdf(doc: Document) -> bytes:
    """One PDF: the single PDF section as is, else all sections merged page by page."""
    if len(doc.sections) == 1 and doc.sections[0].kind == "pdf":
        return doc.section_bytes(doc.sections[0])
    lines = [f"{name}: {value}" for name, value in doc.values.items() if name != "NOTES"]
    pages = []
    for s in doc.sections:
        if s.kind == "pdf":
            pages += [
                [doc.title, *lines, f"Section {s.number}, page {n + 1}"] for n in range(s.pages)
            ]
        else:
            pages.append(
                [
                    doc.title,
                    f"Section {s.number}: {doc.section_name(s)} "
                    f"({files.CONTENT_TYPES[s.kind]}) converted to PDF",
                ]
            )
    return files.pdf(pages, doc.title)


def _as_zip(doc: Document) -> bytes:
    return files.zip_bytes([(doc.section_name(s), doc.section_bytes(s)) for s in doc.sections])


def _file(
    body: bytes,
    kind: str,
    filename: str,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    extra = [
        ("Content-Disposition", content_disposition(filename)),
        ("Accept-Ranges", "bytes"),
        *(headers or []),
    ]
    return Response(status, body, files.CONTENT_TYPES[kind], extra)


def content_disposition(filename: str) -> str:
    """attachment; filename="…" plus filename*=UTF-8''… when the name is not plain ASCII."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = ascii_name.replace("\\", "_").replace('"', "'")
    value = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def sections(state: State, req: Request) -> Response:
    """GET Sections?docid=: {"Section": [...]}."""
    cab = require_cabinet(req.params["fc"])
    doc_id = req.int_param("docid")
    if doc_id is None:
        raise HttpError(422, "The parameter 'docid' is required.")
    doc = _document(state, cab, doc_id)
    return json_response({"Section": [wire.section(doc, s) for s in doc.sections]})


def section(state: State, req: Request) -> Response:
    """GET Sections/{sid}: the full section with its fileDownload link."""
    doc, s = _require_section(state, req)
    return json_response(wire.section(doc, s))


def section_data(state: State, req: Request) -> Response:
    """GET Sections/{sid}/Data: the raw file; honours Range: bytes=a-b with 206."""
    doc, s = _require_section(state, req)
    body = doc.section_bytes(s)
    wanted = req.headers.get("range", "")
    name = doc.section_name(s)
    if not wanted:
        state.stats.record_download(doc.cabinet_id, doc.section_id(s))
        return _file(body, s.kind, name)
    first, last = _byte_range(wanted, len(body))
    return _file(
        body[first : last + 1],
        s.kind,
        name,
        206,
        [("Content-Range", f"bytes {first}-{last}/{len(body)}")],
    )


def _byte_range(header: str, size: int) -> tuple[int, int]:
    found = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if not found or (found[1] == "" and found[2] == ""):
        raise HttpError(
            416, f"Range '{header}' is not satisfiable.", [("Content-Range", f"bytes */{size}")]
        )
    if found[1] == "":
        first, last = max(0, size - int(found[2])), size - 1
    else:
        first = int(found[1])
        last = min(int(found[2]), size - 1) if found[2] else size - 1
    if first >= size or first > last:
        raise HttpError(
            416, f"Range '{header}' is not satisfiable.", [("Content-Range", f"bytes */{size}")]
        )
    return first, last


def _require_document(state: State, req: Request) -> Document:
    return _document(state, require_cabinet(req.params["fc"]), _int(req.params["doc"]))


def _document(state: State, cab: schema.CabinetDef, doc_id: int) -> Document:
    doc = state.catalogue.document(cab.id, doc_id)
    if doc is None:
        raise HttpError(404, f"Document {doc_id} not found in file cabinet '{cab.name}'.")
    return doc


def _require_section(state: State, req: Request) -> tuple[Document, Section]:
    cab = require_cabinet(req.params["fc"])
    sid = req.params["sid"]
    doc_part, _, number = sid.partition("-")
    doc = state.catalogue.document(cab.id, _int(doc_part, 0))
    found = next((s for s in doc.sections if str(s.number) == number), None) if doc else None
    if doc is None or found is None:
        raise HttpError(404, f"Section '{sid}' not found in file cabinet '{cab.name}'.")
    return doc, found


def _int(text: str, default: int = -1) -> int:
    return int(text) if text.isdigit() else default
