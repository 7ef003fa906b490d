"""A document's index fields as kept with its file: JSON that keeps each value's type, bounded.

DocuWare sends every index field with a search hit; the pipeline keeps them on the file's row
in the store (`job_file.index_data`) so that a report written later, or on another host, has
them. A value's type is told by its JSON form and a tag: `["Date", "2023-01-31"]`,
`["DateTime", "2023-01-31T10:00:00+01:00"]`, `["Decimal", "12.50"]` (text: no float on the
way), `["Int", 7]`, `["Keywords", ["a", "b"]]`, `["Table", [{"COLUMN": "text"}, …]]`, or a
plain string for text and memo fields (null when empty). Each value is cut at
`VALUE_CHARS` (a table at `TABLE_ROWS` rows), and a document's whole record at `MAX_CHARS`:
past it the largest fields are left out and named under `"cut"`, so a store of 100,000 files
stays in proportion whatever DocuWare holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from exmado_tui.docuware.types import FieldValue, format_value

VALUE_CHARS = 4000  # a memo longer than this is cut, marked with "…"
TABLE_ROWS = 200
KEYWORDS = 200
MAX_CHARS = 64 * 1024  # a document's record in the store

Stored = str | int | list[Any] | None  # a value as JSON holds it


class Indexed(Protocol):
    """What is kept of a document (a `models.Document`; the tests' fakes have the same)."""

    @property
    def fields(self) -> dict[str, FieldValue]: ...
    @property
    def content_type(self) -> str: ...
    @property
    def section_count(self) -> int: ...


@dataclass(frozen=True)
class IndexData:
    """A document's index fields read back, each in its type, and what else was kept of it."""

    fields: dict[str, FieldValue]
    content_type: str = ""
    sections: int = 0
    cut: tuple[str, ...] = ()  # fields left out for size

    @classmethod
    def read(cls, text: str | None) -> IndexData:
        """The record `encode` wrote; an empty one for a file kept before there were any."""
        if not text:
            return cls({})
        raw = json.loads(text)
        fields = {str(k): _decoded(v) for k, v in (raw.get("fields") or {}).items()}
        return cls(
            fields,
            str(raw.get("content_type") or ""),
            int(raw.get("sections") or 0),
            tuple(str(n) for n in raw.get("cut") or ()),
        )


def encode(doc: Indexed) -> str:
    """`doc`'s index fields, content type and section count as the store keeps them."""
    encoded = {name: _encoded(value) for name, value in doc.fields.items()}
    sizes = {name: len(_json(value)) + len(name) + 4 for name, value in encoded.items()}
    cut: list[str] = []
    total = sum(sizes.values())
    for name in sorted(sizes, key=sizes.__getitem__, reverse=True):
        if total <= MAX_CHARS - 200:  # room for the rest of the record
            break
        cut.append(name)
        total -= sizes[name]
        del encoded[name]
    record: dict[str, Any] = {
        "content_type": doc.content_type,
        "sections": doc.section_count,
        "fields": encoded,
    }
    if cut:
        record["cut"] = cut
    return _json(record)


def _encoded(value: FieldValue) -> Stored:
    """One value in its tagged JSON form (see the module's docstring)."""
    if isinstance(value, datetime):
        return ["DateTime", value.isoformat()]
    if isinstance(value, date):
        return ["Date", value.isoformat()]
    if isinstance(value, Decimal):
        return ["Decimal", str(value)]
    if isinstance(value, bool) or value is None:
        return None if value is None else _cut(str(value))
    if isinstance(value, int):
        return ["Int", value]
    if isinstance(value, list):
        return _list(value)
    return _cut(str(value))


def _list(value: list[str] | list[dict[str, Any]]) -> list[Any]:
    if any(isinstance(item, dict) for item in value):
        rows = [item for item in value if isinstance(item, dict)][:TABLE_ROWS]
        return ["Table", [{str(k): _cut(format_value(v)) for k, v in row.items()} for row in rows]]
    return ["Keywords", [_cut(str(item)) for item in value[:KEYWORDS]]]


def _cut(text: str) -> str:
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def _decoded(stored: Any) -> FieldValue:
    """A tagged value back in its type; text as text; what cannot be read, as its text."""
    if not isinstance(stored, list) or len(stored) != 2:
        return None if stored is None else str(stored)
    tag, value = stored
    try:
        match tag:
            case "DateTime":
                return datetime.fromisoformat(value)
            case "Date":
                return date.fromisoformat(value)
            case "Decimal":
                return Decimal(value)
            case "Int":
                return int(value)
            case "Keywords":
                return [str(v) for v in value]
            case "Table":
                return [{str(k): str(v) for k, v in row.items()} for row in value]
    except (TypeError, ValueError, AttributeError, InvalidOperation):
        pass
    return str(value)


def field_text(value: FieldValue) -> str:
    """A value as text for a cell or a CSV column: ISO dates, keywords joined by ', ', a table
    a line per row (`COLUMN: value; COLUMN: value`)."""
    if isinstance(value, list) and any(isinstance(row, dict) for row in value):
        rows = [row for row in value if isinstance(row, dict)]
        return "\n".join("; ".join(f"{k}: {v}" for k, v in row.items()) for row in rows)
    return format_value(value)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
