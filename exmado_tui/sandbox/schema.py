"""What the sandbox archive is made of: its fixed shape (organization, cabinets, basket,
fields and dialogs) and the document (index values, system fields, sections whose bytes are
made on demand) that data.py generates into it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from exmado_tui.sandbox import files

ORG_ID = "1"
ORG_GUID = "5e1d0c2a-7b3f-4c11-9a6e-0d4c2b8f1a01"
INVOICES_ID = "41537414-0df0-4d08-adb5-fa40564b80f9"
PERSONNEL_ID = "7c2e9b10-3a4d-4f5e-8b6c-1d2e3f4a5b6c"
BASKET_ID = "b_64483ab5-61e2-4ab5-9a5b-8270c93eb50f"
CUSTOM_DIALOG_ID = "00000000-0000-0000-0000-000000000000"

# DWFieldType (cabinet/dialog) -> ItemElementName (value encoding)
ELEMENT_OF = {
    "Text": "String",
    "Memo": "Memo",
    "Numeric": "Int",
    "Decimal": "Decimal",
    "Date": "Date",
    "DateTime": "DateTime",
    "Keyword": "Keywords",
}


@dataclass(frozen=True)
class FieldDef:
    """One index field of a cabinet."""

    name: str
    label: str
    dw_type: str
    length: int = 0
    precision: int = 0
    system: bool = False

    @property
    def element(self) -> str:
        """The ItemElementName used for values of this field."""
        return ELEMENT_OF[self.dw_type]


@dataclass(frozen=True)
class DialogDef:
    """A dialog of a cabinet; search dialogs list the fields they offer and show."""

    id: str
    name: str
    type: str
    fields: tuple[str, ...]
    is_default: bool = False
    is_for_mobile: bool = False


@dataclass(frozen=True)
class CabinetDef:
    """A file cabinet: id, name, colour, user fields and dialogs."""

    id: str
    name: str
    color: str
    fields: tuple[FieldDef, ...]
    dialogs: tuple[DialogDef, ...]
    default_sort: tuple[str, str]

    def field(self, name: str) -> FieldDef | None:
        """The field (user or system) with this DB name, case-insensitively."""
        return _FIELD_INDEX[self.id].get(name.upper())

    def known_field(self, name: str) -> FieldDef:
        """The field of a name already checked (a dialog's, a condition's): LookupError if not."""
        found = self.field(name)
        if found is None:
            raise LookupError(f"cabinet {self.name} has no field {name}")
        return found

    @property
    def all_fields(self) -> tuple[FieldDef, ...]:
        """User fields followed by the system fields."""
        return self.fields + SYSTEM_FIELDS

    def dialog(self, dialog_id: str) -> DialogDef | None:
        """The dialog with this id (case-insensitive), if the cabinet has it."""
        return next((d for d in self.dialogs if d.id.lower() == dialog_id.lower()), None)


SYSTEM_FIELDS = (
    FieldDef("DWDOCID", "Doc ID", "Numeric", system=True),
    FieldDef("DWSTOREDATETIME", "Stored on", "DateTime", system=True),
    FieldDef("DWSTOREUSER", "Stored by", "Text", 50, system=True),
    FieldDef("DWMODDATETIME", "Modified on", "DateTime", system=True),
    FieldDef("DWEXTENSION", "File extension", "Text", 10, system=True),
    FieldDef("DWSECTIONCOUNT", "Section count", "Numeric", system=True),
    FieldDef("DWDOCSIZE", "Document size", "Numeric", system=True),
)

# What DocuWare's default search dialogs usually carry besides the cabinet's own fields.
STORED_MODIFIED = ("DWSTOREDATETIME", "DWMODDATETIME")

INVOICE_FIELDS = (
    FieldDef("INVOICE_NO", "Invoice no.", "Text", 30),
    FieldDef("SUPPLIER", "Supplier", "Text", 80),
    FieldDef("DOC_DATE", "Document date", "Date"),
    FieldDef("AMOUNT", "Amount", "Decimal", precision=2),
    FieldDef("STATUS", "Status", "Text", 20),
    FieldDef("NOTES", "Notes", "Memo", 8000),
    FieldDef("TAGS", "Tags", "Keyword", 40),
)

PERSONNEL_FIELDS = (
    FieldDef("EMPLOYEE_NO", "Employee no.", "Text", 10),
    FieldDef("NAME", "Name", "Text", 80),
    FieldDef("DEPARTMENT", "Department", "Text", 40),
    FieldDef("DOC_TYPE", "Document type", "Text", 40),
    FieldDef("DOC_DATE", "Document date", "Date"),
)

INVOICES = CabinetDef(
    id=INVOICES_ID,
    name="Invoices",
    color="Yellow",
    fields=INVOICE_FIELDS,
    dialogs=(
        DialogDef(
            "76301253-0b28-469d-9388-4e8eef51193a",
            "Invoice search",
            "Search",
            ("INVOICE_NO", "SUPPLIER", "DOC_DATE", "AMOUNT", "STATUS", "TAGS", *STORED_MODIFIED),
            True,
        ),
        DialogDef(
            "a0d6c1e2-5f43-4b8e-9c27-3e1f0b2d4c55",
            "Supplier search",
            "Search",
            ("SUPPLIER", "DOC_DATE"),
        ),
        DialogDef(
            "m_76301253-0b28-469d-9388-4e8eef51193a",
            "Invoice search (mobile)",
            "Search",
            ("INVOICE_NO",),
            is_for_mobile=True,
        ),
        DialogDef(
            CUSTOM_DIALOG_ID, "Custom search", "Search", tuple(f.name for f in INVOICE_FIELDS)
        ),
        DialogDef(
            "5c8c5139-9bb7-417e-864f-967a861fac21",
            "Invoice store",
            "Store",
            tuple(f.name for f in INVOICE_FIELDS),
        ),
        DialogDef(
            "e4b7a0c3-2d19-4f6a-8e05-7b3c9d1f2a60",
            "Invoice list",
            "ResultList",
            ("INVOICE_NO", "SUPPLIER", "DOC_DATE", "AMOUNT", "STATUS"),
        ),
    ),
    default_sort=("DWDOCID", "Asc"),
)

PERSONNEL = CabinetDef(
    id=PERSONNEL_ID,
    name="Personnel",
    color="Blue",
    fields=PERSONNEL_FIELDS,
    dialogs=(
        DialogDef(
            "3f9a2c7e-6b1d-4e08-a5c3-9d7e2f1b0a44",
            "Personnel search",
            "Search",
            ("EMPLOYEE_NO", "NAME", "DEPARTMENT", "DOC_TYPE", *STORED_MODIFIED),
            True,
        ),
        DialogDef(
            CUSTOM_DIALOG_ID, "Custom search", "Search", tuple(f.name for f in PERSONNEL_FIELDS)
        ),
        DialogDef(
            "8e1c4b2a-0f7d-4a39-b6e5-2c9d8a7f3e11",
            "Personnel list",
            "ResultList",
            ("EMPLOYEE_NO", "NAME", "DEPARTMENT", "DOC_TYPE", "DOC_DATE"),
        ),
    ),
    default_sort=("DWDOCID", "Asc"),
)

CABINETS = (INVOICES, PERSONNEL)

_FIELD_INDEX = {c.id: {f.name: f for f in c.all_fields} for c in CABINETS}


def cabinet(cabinet_id: str) -> CabinetDef | None:
    """The cabinet with this id (case-insensitive), if any."""
    return next((c for c in CABINETS if c.id.lower() == cabinet_id.lower()), None)


def known_cabinet(cabinet_id: str) -> CabinetDef:
    """The cabinet of an id already checked (a stored query's, a document's)."""
    found = cabinet(cabinet_id)
    if found is None:
        raise LookupError(f"no cabinet {cabinet_id}")
    return found


def result_fields(cab: CabinetDef) -> tuple[str, ...]:
    """The fields a result list shows: those of the cabinet's ResultList dialog."""
    lists = [d for d in cab.dialogs if d.type == "ResultList"]
    return lists[0].fields if lists else tuple(f.name for f in cab.fields)


@dataclass(slots=True)
class Section:
    """One file of a document."""

    number: int
    kind: str
    pages: int
    salt: int
    size: int


@dataclass(slots=True)
class Document:
    """One document: its index values (user fields only) and the files it is made of."""

    id: int
    cabinet_id: str
    values: dict[str, Any]
    sections: list[Section]
    created_ms: int
    modified_ms: int
    store_user: str = "import"

    @property
    def title(self) -> str:
        """The document title DocuWare shows, also the base of download file names."""
        if self.cabinet_id == INVOICES_ID:
            return f"Invoice {self.values['INVOICE_NO']} - {self.values['SUPPLIER']}"
        return f"{self.values['DOC_TYPE']} {self.values['NAME']}"

    def section_id(self, section: Section) -> str:
        """The section id, unique within the cabinet."""
        return f"{self.id}-{section.number}"

    def section_name(self, section: Section) -> str:
        """The original file name of a section."""
        stem = f"doc-{self.id}" if section.number == 1 else f"doc-{self.id}-{section.number}"
        return stem + files.EXTENSIONS[section.kind]

    def section_bytes(self, section: Section) -> bytes:
        """The file content of one section (generated on demand, padded to section.size)."""
        return _render(
            self.title,
            _content_lines(self),
            section.kind,
            section.pages,
            section.salt,
            section.size,
        )

    def file_size(self) -> int:
        """Total size of all sections."""
        return sum(s.size for s in self.sections)

    def value(self, name: str) -> Any:
        """The value of a user or system field (None when empty)."""
        system = _SYSTEM_VALUES.get(name)
        return system(self) if system else self.values.get(name)


@functools.lru_cache(maxsize=512)
def _render(
    title: str, lines: tuple[str, ...], kind: str, pages: int, salt: int, size: int
) -> bytes:
    return files.padded(files.render(kind, title, lines, pages, salt), kind, size)


def _content_lines(doc: Document) -> tuple[str, ...]:
    lines = []
    for name, value in doc.values.items():
        if name == "NOTES" and value:
            value = value[:80] + ("..." if len(value) > 80 else "")
        lines.append(f"{name}: {format_value(value)}")
    return tuple(lines)


def format_value(value: Any) -> str:
    """A human-readable rendering of an index value for file content."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


_SYSTEM_VALUES = {
    "DWDOCID": lambda d: d.id,
    "DWSTOREDATETIME": lambda d: d.created_ms,
    "DWSTOREUSER": lambda d: d.store_user,
    "DWMODDATETIME": lambda d: d.modified_ms,
    "DWEXTENSION": lambda d: files.EXTENSIONS[d.sections[0].kind] if d.sections else None,
    "DWSECTIONCOUNT": lambda d: len(d.sections),
    "DWDOCSIZE": lambda d: d.file_size(),
}
