"""Typed results: cabinets, dialogs, fields, documents, sections and downloads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from exmado_tui.docuware.values import (
    FieldValue,
    decode_field,
    format_value,
    parse_dw_datetime,
    to_int,
)


def links_of(raw: Mapping[str, Any]) -> dict[str, str]:
    """`Links: [{rel, href}]` → {rel: href} (the first href wins for a repeated rel)."""
    links: dict[str, str] = {}
    for link in raw.get("Links") or []:
        if isinstance(link, dict) and link.get("rel") and link.get("href"):
            links.setdefault(str(link["rel"]), str(link["href"]))
    return links


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    links: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Organization:
        return cls(str(raw.get("Id", "")), str(raw.get("Name", "")), links_of(raw))


@dataclass(frozen=True)
class FileCabinet:
    id: str
    name: str
    is_basket: bool = False
    links: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FileCabinet:
        cabinet_id = str(raw.get("Id", ""))
        basket = bool(raw.get("IsBasket", cabinet_id.startswith("b_")))
        return cls(cabinet_id, str(raw.get("Name", "")), basket, links_of(raw))


@dataclass(frozen=True)
class FieldInfo:
    """A cabinet or dialog field: DB name, label shown to users, DWFieldType."""

    db_name: str
    label: str
    type: str

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FieldInfo:
        name = str(raw.get("DBFieldName") or raw.get("DBName") or "")
        label = raw.get("DlgLabel") or raw.get("DisplayName") or name
        return cls(name, str(label), str(raw.get("DWFieldType", "Text")))


@dataclass(frozen=True)
class DialogInfo:
    id: str
    name: str
    type: str
    is_default: bool = False
    links: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DialogInfo:
        return cls(
            str(raw.get("Id", "")),
            str(raw.get("DisplayName", "")),
            str(raw.get("Type", "")),
            bool(raw.get("IsDefault", False)),
            links_of(raw),
        )


@dataclass(frozen=True)
class Dialog:
    """A full search dialog: its fields and the `dialogExpression` link searches go to."""

    id: str
    name: str
    cabinet_id: str
    fields: tuple[FieldInfo, ...]
    expression_href: str
    links: dict[str, str] = field(default_factory=dict)

    def field(self, name_or_label: str) -> FieldInfo | None:
        """A field by DB name or by label, case-insensitively."""
        wanted = name_or_label.casefold()
        for candidate in self.fields:
            if wanted in (candidate.db_name.casefold(), candidate.label.casefold()):
                return candidate
        return None


@dataclass(frozen=True)
class Section:
    id: str
    content_type: str
    original_filename: str
    file_size: int
    page_count: int
    links: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Section:
        return cls(
            str(raw.get("Id", "")),
            str(raw.get("ContentType") or ""),
            str(raw.get("OriginalFileName") or ""),
            to_int(raw.get("FileSize")) or 0,
            to_int(raw.get("PageCount")) or 0,
            links_of(raw),
        )


@dataclass(frozen=True)
class DocumentRef:
    """Enough to address one document: cabinet id and document id."""

    cabinet_id: str
    id: int


@dataclass(frozen=True)
class Document:
    id: int
    cabinet_id: str
    title: str
    content_type: str
    file_size: int
    section_count: int
    fields: dict[str, FieldValue]
    sections: tuple[Section, ...] = ()
    links: dict[str, str] = field(default_factory=dict)
    field_types: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    # When it last changed (`LastModified`, else its DWMODDATETIME field), aware; None: unsaid.
    last_modified: datetime | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], cabinet_id: str = "") -> Document:
        raw_fields = [f for f in raw.get("Fields") or [] if isinstance(f, dict)]
        fields = {str(f.get("FieldName")): decode_field(f) for f in raw_fields}
        modified = fields.get("DWMODDATETIME")
        return cls(
            id=to_int(raw.get("Id")) or 0,
            cabinet_id=str(raw.get("FileCabinetId") or cabinet_id),
            title=str(raw.get("Title") or ""),
            content_type=str(raw.get("ContentType") or ""),
            file_size=to_int(raw.get("FileSize")) or 0,
            section_count=to_int(raw.get("SectionCount")) or 0,
            fields=fields,
            sections=tuple(Section.from_json(s) for s in _sections(raw)),
            links=links_of(raw),
            field_types={
                str(f.get("FieldName")): str(f.get("ItemElementName")) for f in raw_fields
            },
            labels={str(f.get("FieldName")): str(f.get("FieldLabel") or "") for f in raw_fields},
            last_modified=parse_dw_datetime(raw.get("LastModified"))
            or (modified if isinstance(modified, datetime) else None),
        )

    @property
    def ref(self) -> DocumentRef:
        return DocumentRef(self.cabinet_id, self.id)

    def get(self, name: str, default: FieldValue = None) -> FieldValue:
        return self.fields.get(name, default)

    def get_text(self, name: str) -> str:
        """The value as text ('' when empty): ISO dates, keywords joined by ', '."""
        return format_value(self.fields.get(name))

    def get_date(self, name: str) -> date | None:
        value = self.fields.get(name)
        if isinstance(value, datetime):
            return value.date()
        return value if isinstance(value, date) else None

    def get_decimal(self, name: str) -> Decimal | None:
        value = self.fields.get(name)
        if isinstance(value, Decimal):
            return value
        return Decimal(value) if isinstance(value, int) else None

    def get_int(self, name: str) -> int | None:
        value = self.fields.get(name)
        return value if isinstance(value, int) else None

    def get_keywords(self, name: str) -> list[str]:
        value = self.fields.get(name)
        return [str(v) for v in value] if isinstance(value, list) else []


def _sections(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    sections = raw.get("Sections") or []
    if isinstance(sections, dict):  # {"Section": [...]} from the Sections resource
        sections = sections.get("Section") or []
    return [s for s in sections if isinstance(s, dict)]


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ServiceDescription:
    version: str
    links: dict[str, str] = field(default_factory=dict)
