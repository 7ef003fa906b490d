"""A field's value: decoded from DocuWare's form, shown as text, and kept with its file as
typed JSON.

Decoding (`decode_field`, `decode_value`, `to_int`, …) handles `/Date(ms±hhmm)/`, decimals,
keywords, tables. Dates: the number is milliseconds since the epoch in UTC; the optional `±hhmm`
suffix is informational, so a DateTime keeps the instant and is shown in that offset (UTC
without one). A Date (date-only field) is a midnight, but whether midnight UTC or the server's
local midnight is UNCONFIRMED (reference §4), and the suffix may be missing: it is the day of
the nearest UTC midnight, right for both shapes from servers within ±12 h of UTC. `/Date(0)/`,
.NET's `DateTime.MinValue` (year 1, DocuWare's "no date") and values Python cannot represent
decode to None. Other negative values are genuine dates before 1970 (birth dates in a personnel
cabinet).

Keeping (`encode`, `IndexData`): DocuWare sends every index field with a search hit; the
pipeline keeps them on the file's row in the store (`job_file.index_data`) so that a report
written later, or on another host, has them. A value's type is told by its JSON form and a
tag: `["Date", "2023-01-31"]`, `["DateTime", "2023-01-31T10:00:00+01:00"]`, `["Decimal",
"12.50"]` (text: no float on the way), `["Int", 7]`, `["Keywords", ["a", "b"]]`, `["Table",
[{"COLUMN": "text"}, …]]`, or a plain string for text and memo fields (null when empty). Each
value is cut at `VALUE_CHARS` (a table at `TABLE_ROWS` rows), and a document's whole record at
`MAX_CHARS`: past it the largest fields are left out and named under `"cut"`, so a store of
100,000 files stays in proportion whatever DocuWare holds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

FieldValue = str | int | Decimal | date | datetime | list[str] | list[dict[str, Any]] | None

_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOTNET_MIN_MS = -62135596800000  # 0001-01-01T00:00:00Z


def parse_dw_datetime(text: object) -> datetime | None:
    """`/Date(ms[±hhmm])/` → an aware datetime, or None for sentinels and garbage."""
    if not isinstance(text, str):
        return None
    match = _DATE.match(text.strip().replace("\\/", "/"))
    if not match:
        return _parse_iso(text)
    ms = int(match.group(1))
    if ms == 0 or ms <= _DOTNET_MIN_MS:
        return None
    try:
        instant = _EPOCH + timedelta(milliseconds=ms)
        return instant.astimezone(_offset(match.group(2)))
    except (OverflowError, ValueError):
        return None


def parse_dw_date(text: object) -> date | None:
    """`/Date(...)/` of a date-only field → the day of the nearest UTC midnight (see above)."""
    moment = parse_dw_datetime(text)
    if moment is None:
        return None
    try:
        return (moment.astimezone(UTC) + timedelta(hours=12)).date()
    except OverflowError:
        return moment.date()


def _offset(suffix: str | None) -> timezone:
    if not suffix:
        return UTC
    minutes = int(suffix[1:3]) * 60 + int(suffix[3:5])
    return timezone(timedelta(minutes=-minutes if suffix[0] == "-" else minutes))


def _parse_iso(text: str) -> datetime | None:
    """Some servers and writers use ISO strings; accept them rather than lose the value."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def to_int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, str):
            return int(Decimal(value.strip()))
        return int(value)  # type: ignore[call-overload]  # whatever int() takes; else None
    except (ValueError, TypeError, InvalidOperation):
        return None


def to_keywords(item: object) -> list[str]:
    """`{"Keyword": [...]}` (or a bare list, or null) → list of strings."""
    if isinstance(item, dict):
        item = item.get("Keyword")
    if isinstance(item, str):
        return [item]
    if not isinstance(item, list):
        return []
    return [str(k) for k in item if k is not None]


def to_table(item: object) -> list[dict[str, Any]]:
    """`{"Row": [{"ColumnValue": [field, ...]}]}` → one dict per row, column name → value."""
    rows = item.get("Row") if isinstance(item, dict) else None
    if isinstance(rows, dict):  # one row may come bare, as one column may (below)
        rows = [rows]
    if not isinstance(rows, list):
        return []
    table = []
    for row in rows:
        columns = row.get("ColumnValue", []) if isinstance(row, dict) else []
        if isinstance(columns, dict):
            columns = [columns]
        table.append(
            {c.get("FieldName", ""): decode_field(c) for c in columns if isinstance(c, dict)}
        )
    return table


def decode_value(kind: str, item: object) -> FieldValue:
    """One `Item` according to its `ItemElementName`."""
    match kind:
        case "Date":
            return parse_dw_date(item)
        case "DateTime":
            return parse_dw_datetime(item)
        case "Decimal":
            return to_decimal(item)
        case "Int":
            return to_int(item)
        case "Keywords":
            return to_keywords(item)
        case "Table":
            return to_table(item)
        case _:
            return None if item is None else str(item)


def decode_field(raw: dict[str, Any]) -> FieldValue:
    """A DocumentIndexField object → its Python value (None when IsNull)."""
    kind = str(raw.get("ItemElementName") or "String")
    if raw.get("IsNull") and kind not in ("Keywords", "Table"):
        return None
    return decode_value(kind, raw.get("Item"))


def format_value(value: FieldValue) -> str:
    """A value as plain text for names, tables and CSV: ISO dates, keywords joined by ', '."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(v if isinstance(v, str) else str(v) for v in value)
    return str(value)


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


def stored_fields(text: str | None) -> dict[str, Stored]:
    """A record's fields as `encode` wrote them, each in its JSON form (`IndexData.read`
    reads them back in their types)."""
    return (json.loads(text).get("fields") or {}) if text else {}


def stored_text(stored: Stored) -> str:
    """`field_text` of the value `stored` holds: text as it is, anything else read back."""
    return stored if isinstance(stored, str) else field_text(_decoded(stored))


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
