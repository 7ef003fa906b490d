"""What goes over the wire: the request and response values passed between the HTTP server
and the endpoints, DocuWare's error body, and the JSON shapes of the Platform's resources
(service description, organization, cabinets and basket, dialogs, documents, sections)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from exmado_tui.sandbox import files, schema
from exmado_tui.sandbox.config import SandboxConfig
from exmado_tui.sandbox.schema import Document, Section

PLATFORM = "/DocuWare/Platform"
IDENTITY = "/DocuWare/Identity"
JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Request:
    """One parsed HTTP request; query and header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    target: str = ""
    client: str = ""
    user: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes, client: str
    ) -> Request:
        """The request as the routes take it, from what came on the wire (or in-process)."""
        url = urlsplit(target)
        query = {k.lower(): v for k, v in parse_qsl(url.query, keep_blank_values=True)}
        lowered = {k.lower(): v for k, v in headers}
        verb = "GET" if method == "HEAD" else method  # HEAD answers as GET, without the body
        return cls(verb, url.path, query, lowered, body, target, client)

    @property
    def cookies(self) -> dict[str, str]:
        """The Cookie header as a dict (tolerant of odd names such as .DWPLATFORMAUTH)."""
        jar = {}
        for part in self.headers.get("cookie", "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                jar[name] = value.strip('"')
        return jar

    def form(self) -> dict[str, str]:
        """The body as an x-www-form-urlencoded form."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self) -> Any:
        """The body as JSON; HttpError 400 when it is not."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise HttpError(400, f"The request body is not valid JSON: {exc}.") from exc

    def int_param(self, name: str, default: int | None = None) -> int | None:
        """An integer query parameter; HttpError 422 when it is not a number."""
        raw = self.query.get(name.lower())
        if raw in (None, ""):
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise HttpError(422, f"The parameter '{name}' must be a whole number.") from exc


@dataclass
class Response:
    """Status, headers and body bytes; Content-Length is added by the server."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    # A fault for the server to act out while writing it: "cut" (the connection dies halfway
    # through the body) or "short" (it ends cleanly before Content-Length).
    break_off: str = ""


class HttpError(Exception):
    """Raised by handlers to answer with a DocuWare error body."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: list[tuple[str, str]] | None = None,
        internal_code: int = 0,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []
        self.internal_code = internal_code


def json_response(
    data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    """A JSON response (UTF-8, non-ASCII kept as is)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, JSON_TYPE, list(headers or []))


def status_name(status: int) -> str:
    """The .NET HttpStatusCode-style name: 404 -> "NotFound"."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return str(status)
    return "".join(word[:1].upper() + word[1:] for word in phrase.replace("-", " ").split())


def error_response(
    request: Request,
    status: int,
    message: str,
    headers: list[tuple[str, str]] | None = None,
    internal_code: int = 0,
) -> Response:
    """The DocuWare error JSON (Message, Uri, Method, StatusCode, Status, InternalCode)."""
    return json_response(
        {
            "Message": message,
            "Exception": None,
            "Uri": request.target or request.path,
            "Method": request.method,
            "StatusCode": status,
            "Status": status_name(status),
            "InternalCode": internal_code,
        },
        status,
        headers,
    )


def link(rel: str, href: str) -> dict[str, str]:
    """One hypermedia link."""
    return {"rel": rel, "href": href}


def ms_date(ms: int) -> str:
    """The Microsoft JSON date form /Date(ms)/."""
    return f"/Date({ms})/"


# ---- the JSON shapes of Platform resources ----------------------------------------------


def fc_href(cabinet_id: str, tail: str = "") -> str:
    """The href of a cabinet or of something below it."""
    return f"{PLATFORM}/FileCabinets/{cabinet_id}{tail}"


def service_description(config: SandboxConfig) -> dict[str, Any]:
    """GET /DocuWare/Platform."""
    links = [
        link("organizations", f"{PLATFORM}/Organizations"),
        link("filecabinets", f"{PLATFORM}/FileCabinets"),
    ]
    if config.auth != "oauth":
        links += [
            link("login", f"{PLATFORM}/Account/Logon"),
            link("logout", f"{PLATFORM}/Account/Logoff"),
        ]
    if config.oauth_enabled:
        links.append(link("identityServiceInfo", f"{PLATFORM}/Home/IdentityServiceInfo"))
    fc = f"{PLATFORM}/FileCabinets/{{fileCabinetId}}"
    resources = [
        {
            "Name": "documentsFileDownload",
            "UriPattern": f"{fc}/Documents/{{id}}/FileDownload"
            "?targetFileType={targetFileType}&keepAnnotations={keepAnnotations}",
        },
        {"Name": "document", "UriPattern": f"{fc}/Documents/{{id}}"},
        {
            "Name": "documents",
            "UriPattern": f"{fc}/Documents?q={{q}}&fields={{fields}}"
            "&sortOrder={sortOrder}&start={start}&count={count}",
        },
        {"Name": "fileCabinet", "UriPattern": fc},
        {"Name": "dialog", "UriPattern": f"{fc}/Dialogs/{{id}}?dialogType={{dialogType}}"},
        {"Name": "documentIndexFields", "UriPattern": f"{fc}/Documents/{{id}}/Fields"},
    ]
    return {"Links": links, "Resources": resources, "Version": config.version}


def organization(config: SandboxConfig, full: bool = False) -> dict[str, Any]:
    """One organization (the sandbox has exactly one)."""
    org: dict[str, Any] = {
        "Id": schema.ORG_ID,
        "Name": config.organization,
        "Guid": schema.ORG_GUID,
        "Links": [
            link("self", f"{PLATFORM}/Organizations/{schema.ORG_ID}"),
            link("filecabinets", f"{PLATFORM}/FileCabinets?orgid={schema.ORG_ID}"),
        ],
    }
    if full:
        org["AdditionalInfo"] = {
            "CompanyNames": [config.organization],
            "AddressLines": [],
            "Administrator": "admin",
            "EMail": "admin@sandbox.invalid",
            "SystemNumber": "SANDBOX-0001",
            "RuntimeVersion": config.version,
            "OrganizationType": "Sandbox",
        }
        org["Culture"] = "en-US"
    return org


def cabinet(cab: schema.CabinetDef, full: bool = False) -> dict[str, Any]:
    """A file cabinet in the list, or with its Fields when full."""
    data: dict[str, Any] = {
        "Id": cab.id,
        "Name": cab.name,
        "Color": cab.color,
        "IsBasket": False,
        "Usable": True,
        "Default": False,
        "VersionManagement": "Disable",
        "WindowsExplorerClientAccess": False,
        "AddIndexEntriesInUpperCase": False,
        "DocumentAuditingEnabled": False,
        "HasFullTextSupport": False,
        "Links": [
            link("self", fc_href(cab.id)),
            link("documents", fc_href(cab.id, "/Documents")),
            link("dialogs", fc_href(cab.id, "/Dialogs")),
            link("searches", fc_href(cab.id, "/Dialogs?dialogType=Search")),
            link("customSearch", fc_href(cab.id, f"/Dialogs/{schema.CUSTOM_DIALOG_ID}")),
        ],
    }
    if full:
        data["Fields"] = [cabinet_field(f) for f in cab.all_fields]
    return data


def basket(full: bool = False) -> dict[str, Any]:
    """The document tray ("basket"); it holds no documents in the sandbox."""
    return {
        "Id": schema.BASKET_ID,
        "Name": "Inbox",
        "Color": "Green",
        "IsBasket": True,
        "Usable": True,
        "Default": True,
        "AssignedCabinetId": schema.INVOICES_ID,
        "Links": [link("self", fc_href(schema.BASKET_ID))] if full else [],
    }


def cabinet_field(f: schema.FieldDef) -> dict[str, Any]:
    """A cabinet field description."""
    return {
        "DBFieldName": f.name,
        "DisplayName": f.label,
        "DWFieldType": f.dw_type,
        "Length": f.length,
        "Precision": f.precision,
        "Scope": "System" if f.system else "User",
        "NotEmpty": False,
        "DropLeadingZero": False,
        "DropLeadingBlanks": False,
        "UsedAsDocumentName": False,
        "Links": [],
    }


def dialog_info(cab: schema.CabinetDef, d: schema.DialogDef) -> dict[str, Any]:
    """A dialog in the Dialogs list."""
    return {
        "$type": "DialogInfo",
        "Id": d.id,
        "FileCabinetId": cab.id,
        "FileCabinetName": cab.name,
        "DisplayName": d.name,
        "Type": d.type,
        "IsDefault": d.is_default,
        "IsForMobile": d.is_for_mobile,
        "Color": cab.color,
        "Links": [link("self", fc_href(cab.id, f"/Dialogs/{d.id}"))],
    }


def dialog(cab: schema.CabinetDef, d: schema.DialogDef) -> dict[str, Any]:
    """A full dialog with its Fields, Query links and properties."""
    data = dialog_info(cab, d)
    data.pop("$type")
    data["Fields"] = [_dialog_field(cab.known_field(name)) for name in d.fields]
    if d.type == "Search":
        query = fc_href(cab.id, "/Query")
        data["Query"] = {
            "ForceRefresh": False,
            "Expression": "",
            "Fields": list(schema.result_fields(cab)),
            "SortOrder": [{"Field": cab.default_sort[0], "Direction": cab.default_sort[1]}],
            "Links": [link("dialogExpression", f"{query}/DialogExpression?dialogId={d.id}")],
        }
        data["Properties"] = {
            "$type": "DialogPropertiesSearch",
            "LogicalOperator": {"DefaultOperator": "And", "Show": True},
        }
        data["Links"].append(link("count", f"{query}/CountExpression?dialogId={d.id}"))
    return data


def _dialog_field(f: schema.FieldDef) -> dict[str, Any]:
    return {
        "DBFieldName": f.name,
        "DlgLabel": f.label,
        "DWFieldType": f.dw_type,
        "Length": f.length,
        "Precision": f.precision,
        "Visible": True,
        "ReadOnly": False,
        "NotEmpty": False,
        "Locked": False,
        "AllowExtendedSearch": True,
        "Links": [],
    }


def index_field(f: schema.FieldDef, value: Any) -> dict[str, Any]:
    """A document index field (FieldName, ItemElementName, Item, IsNull, …)."""
    empty = value is None or value == "" or value == []
    item: Any = None
    if not empty:
        item = value
        if f.element in ("Date", "DateTime"):
            item = ms_date(value)
        elif f.element == "Keywords":
            item = {"$type": "DocumentIndexFieldKeywords", "Keyword": list(value)}
    return {
        "FieldName": f.name,
        "FieldLabel": f.label,
        "ItemElementName": f.element,
        "Item": item,
        "IsNull": empty,
        "ReadOnly": f.system,
        "SystemField": f.system,
    }


def document(
    doc: Document, field_names: list[str] | None = None, full: bool = False
) -> dict[str, Any]:
    """A document: a result summary (selected fields, no sections) or the full document."""
    cab = schema.cabinet(doc.cabinet_id)
    assert cab is not None
    named = cab.all_fields if field_names is None else [cab.field(n) for n in field_names]
    defs = [f for f in named if f is not None]  # a field the cabinet lacks is left out
    first = doc.sections[0] if doc.sections else None
    href = fc_href(cab.id, f"/Documents/{doc.id}")
    data: dict[str, Any] = {
        "Id": doc.id,
        "FileCabinetId": cab.id,
        "Title": doc.title,
        "ContentType": files.CONTENT_TYPES[first.kind] if first else "",
        "FileSize": doc.file_size(),
        "SectionCount": len(doc.sections),
        "TotalPages": sum(s.pages for s in doc.sections),
        "CreatedAt": ms_date(doc.created_ms),
        "LastModified": ms_date(doc.modified_ms),
        "IntellixTrust": "None",
        "VersionStatus": "Disable",
        "Flags": {
            "IsCold": False,
            "IsDBRecord": not doc.sections,
            "IsCheckedOut": False,
            "IsCopyRightProtected": False,
            "IsVoiceAvailable": False,
            "HasAppendedDocuments": False,
            "IsProtected": False,
            "IsDeleted": False,
            "IsEmail": False,
        },
        "Fields": [index_field(f, doc.value(f.name)) for f in defs],
        "Sections": [section(doc, s, embedded=True) for s in doc.sections] if full else [],
        "Links": [
            link("self", href),
            link("fileDownload", f"{href}/FileDownload"),
            link("fields", f"{href}/Fields"),
            link("sections", fc_href(cab.id, f"/Sections?docid={doc.id}")),
        ],
    }
    if full:
        data.update(
            HaveMoreTotalPages=False,
            HasTextAnnotation=False,
            HasXmlDigitalSignatures=False,
            AnnotationsPreview=False,
        )
    return data


def section(doc: Document, s: Section, embedded: bool = False) -> dict[str, Any]:
    """A section; embedded ones carry only their self link, like DocuWare."""
    sid = doc.section_id(s)
    href = fc_href(doc.cabinet_id, f"/Sections/{sid}")
    links = [link("self", href)]
    if not embedded:
        links += [
            link("document", fc_href(doc.cabinet_id, f"/Documents/{doc.id}")),
            link("fileDownload", f"{href}/Data"),
            link("content", f"{href}/Data"),
        ]
    return {
        "Id": sid,
        "ContentType": files.CONTENT_TYPES[s.kind],
        "OriginalFileName": doc.section_name(s),
        "FileSize": s.size,
        "PageCount": s.pages,
        "HaveMorePages": False,
        "HasTextAnnotation": False,
        "AnnotationsPreview": False,
        "ContentModified": ms_date(doc.created_ms),
        "Links": links,
    }
