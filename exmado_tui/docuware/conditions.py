"""Search conditions as people write them (`FIELD=VALUE`), checked against the field's type.

`exmado docuware search` and `exmado jobs create --query` share this. A value is exact (`x`),
a wildcard (`a*`, `a?c`), a range closed or open on one side (`a..b`, `a..`, `..b`: DocuWare's
two values with JSON null as the open end, reference §3.1), `EMPTY()` or `NOTEMPTY()`. Once
the field is known (`typed`), the value must suit its DocuWare type: a date field takes
`YYYY-MM-DD`, a date-time field that or `YYYY-MM-DDTHH:MM[:SS]`, a numeric field an integer, a
decimal field a number; text, memo and keyword fields take any text; a table field cannot be
searched by value. Each refusal is one sentence naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from exmado_tui.docuware.models import FieldInfo
from exmado_tui.docuware.query import (
    Condition,
    Empty,
    Exact,
    NotEmpty,
    Range,
    Scalar,
    Wildcard,
)


class Match(StrEnum):
    """How a condition's value matches."""

    EXACT = "exact"
    WILDCARD = "wildcard"
    RANGE = "range"
    EMPTY = "empty"
    NOT_EMPTY = "not empty"


@dataclass(frozen=True)
class Wanted:
    """One condition as written: the field as named, how it matches and its value(s)."""

    field: str
    match: Match
    values: tuple[str | None, ...]
    text: str

    def condition(self, field: FieldInfo | None = None) -> Condition:
        """The DialogExpression condition, on `field`'s DB name and checked against its type
        when given (else on the name as written, the values as text)."""
        name = field.db_name if field else self.field
        values = tuple(None if v is None else _typed(self, v, field) for v in self.values)
        match self.match:
            case Match.EMPTY:
                return Empty(name)
            case Match.NOT_EMPTY:
                return NotEmpty(name)
            case Match.RANGE:
                return Range(name, values[0], values[1])
            case Match.WILDCARD:
                return Wildcard(name, str(values[0]))
        return Exact(name, values[0] if values[0] is not None else "")

    def on(self, field: FieldInfo) -> Wanted:
        """The same condition on the field's DB name (a label or another case resolved)."""
        return Wanted(field.db_name, self.match, self.values, self.text)


def parse_condition(text: str) -> Wanted:
    """`FIELD=x`, `a*`, `a..b`, `..b`, `a..`, `EMPTY()`, `NOTEMPTY()`."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"Condition {text!r} must look like FIELD=VALUE.")
    if value.upper() == "EMPTY()":
        return Wanted(name, Match.EMPTY, (), text)
    if value.upper() == "NOTEMPTY()":
        return Wanted(name, Match.NOT_EMPTY, (), text)
    if ".." in value:
        low, _, high = value.partition("..")
        if not low.strip() and not high.strip():
            raise ValueError(f"Range in {text!r} needs at least one end.")
        return Wanted(name, Match.RANGE, (low.strip() or None, high.strip() or None), text)
    if "*" in value or "?" in value:
        return Wanted(name, Match.WILDCARD, (value,), text)
    return Wanted(name, Match.EXACT, (value,), text)


def parse_conditions(texts: Sequence[str]) -> list[Wanted]:
    return [parse_condition(t) for t in texts]


# DWFieldType → what a search value of that type must read as.
TEXT_TYPES = frozenset({"Text", "Memo", "Keyword", "String", "Keywords"})


def _typed(wanted: Wanted, value: str, field: FieldInfo | None) -> Scalar:
    kind = field.type if field else "Text"
    if kind in TEXT_TYPES or wanted.match is Match.WILDCARD and kind != "Table":
        return value
    try:
        return _parse(kind, value.strip())
    except ValueError:
        raise ValueError(
            f"Condition {wanted.text!r}: {wanted.field} is a {_described(kind)} field, and "
            f"{value!r} is not {_expected(kind)}."
        ) from None


def _parse(kind: str, value: str) -> Scalar:
    match kind:
        case "Date":
            return date.fromisoformat(value)
        case "DateTime":
            moment = datetime.fromisoformat(value)
            return moment.date() if len(value) == 10 else moment
        case "Numeric" | "Int":
            return int(value)
        case "Decimal":
            try:
                return Decimal(value)
            except InvalidOperation:
                raise ValueError(value) from None
        case "Table":
            raise ValueError(value)
    return value


def _described(kind: str) -> str:
    return {"DateTime": "date-time", "Int": "numeric"}.get(kind, kind.lower())


def _expected(kind: str) -> str:
    return {
        "Date": "a date (YYYY-MM-DD)",
        "DateTime": "a date or date-time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)",
        "Numeric": "a whole number",
        "Int": "a whole number",
        "Decimal": "a number (a point for decimals: 1234.50)",
        "Table": "searchable by value (a table field; search one of its other fields)",
    }.get(kind, "a value of that type")
