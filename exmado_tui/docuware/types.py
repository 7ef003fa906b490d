"""Decoding DocuWare index values: `/Date(ms±hhmm)/`, decimals, keywords, tables.

Dates: the number is milliseconds since the epoch in UTC; the optional `±hhmm` suffix is
informational, so a DateTime keeps the instant and is shown in that offset (UTC without one).
A Date (date-only field) is a midnight, but whether midnight UTC or the server's local
midnight is UNCONFIRMED (reference §4), and the suffix may be missing: it is the day of the
nearest UTC midnight, right for both shapes from servers within ±12 h of UTC.
`/Date(0)/`, .NET's `DateTime.MinValue` (year 1, DocuWare's "no date") and values Python
cannot represent decode to None.
Other negative values are genuine dates before 1970 (birth dates in a personnel cabinet).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

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
