"""Search conditions: as people write them (`FIELD=VALUE`), checked against the field's type,
and the DialogExpression body they become.

DocuWare's body is one flat list of conditions joined by one `Operation`, so `And`/`Or`
take conditions, not other groups. Per condition: one value = exact or wildcard match,
two values = inclusive range with JSON null as an open end, `EMPTY()`/`NOTEMPTY()`.

`exmado docuware search` and `exmado jobs create --query` share the parsing (`parse_conditions`).
A value is exact (`x`), a wildcard (`a*`, `a?c`), a range closed or open on one side (`a..b`,
`a..`, `..b`: DocuWare's two values with JSON null as the open end, reference §3.1), `EMPTY()`
or `NOTEMPTY()`. Once the field is known (`typed`), the value must suit its DocuWare type: a
date field takes `YYYY-MM-DD`, a date-time field that or `YYYY-MM-DDTHH:MM[:SS]`, a numeric
field an integer, a decimal field a number; text, memo and keyword fields take any text; a
table field cannot be searched by value. Each refusal is one sentence naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from exmado_tui.docuware.models import FieldInfo

MAX_PAGE_SIZE = 10_000  # DocuWare answers 422 above this (KBA-36909)
ID_FIELD = "DWDOCID"  # every document's id, as a field to search and sort on

Scalar = str | int | Decimal | date | datetime


def escape_value(value: str, *, wildcards: bool = False) -> str:
    """Backslash-escape `(` `)` (a 422 otherwise) and, when asked, `*` `?` to make them literal.

    `\\` itself is escaped too: it is DocuWare's escape character (reference §3.1), so a bare
    backslash in a value (`C:\\in`, `A\\(B`) would escape the character after it. That
    `\\\\` reads as one literal backslash is UNCONFIRMED (no source shows one).
    """
    specials = "\\()*?" if wildcards else "\\()"
    return "".join("\\" + ch if ch in specials else ch for ch in value)


def format_search_value(value: Scalar) -> str:
    """A Python value as DocuWare expects it in a search: ISO dates, plain numbers."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Condition:
    """One `{"DBName", "Value"}` entry; build it with the helpers below."""

    field: str
    values: tuple[str | None, ...]

    def to_json(self) -> dict[str, Any]:
        return {"DBName": self.field, "Value": list(self.values)}


def Exact(field: str, value: Scalar) -> Condition:
    """Field equals value; `*`, `?`, `(`, `)` in the value are literal."""
    return Condition(field, (_text(value, wildcards=True),))


def Wildcard(field: str, pattern: str) -> Condition:
    """`*` matches any run and `?` one character; parentheses stay literal."""
    return Condition(field, (escape_value(pattern),))


def Range(field: str, low: Scalar | None, high: Scalar | None) -> Condition:
    """Inclusive range; None leaves that end open."""
    if low is None and high is None:
        raise ValueError(f"A range on {field} needs at least one end.")
    return Condition(field, (_optional(low), _optional(high)))


def Empty(field: str) -> Condition:
    return Condition(field, ("EMPTY()",))


def NotEmpty(field: str) -> Condition:
    return Condition(field, ("NOTEMPTY()",))


@dataclass(frozen=True)
class Group:
    operation: str
    conditions: tuple[Condition, ...]


def And(*conditions: Condition) -> Group:
    return Group("And", _flat(conditions))


def Or(*conditions: Condition) -> Group:
    return Group("Or", _flat(conditions))


def _flat(conditions: Iterable[Condition]) -> tuple[Condition, ...]:
    items = tuple(conditions)
    for item in items:
        if not isinstance(item, Condition):
            raise TypeError("DocuWare cannot nest And/Or groups; pass conditions only.")
    return items


def _text(value: Scalar, *, wildcards: bool) -> str:
    return escape_value(format_search_value(value), wildcards=wildcards)


def _optional(value: Scalar | None) -> str | None:
    return None if value is None else _text(value, wildcards=True)


Query = Group | Condition | Mapping[str, Any] | Sequence[Condition] | None


def as_group(query: Query) -> Group:
    """Accept a group, one condition, a list (And) or a {field: value} mapping (And of exacts)."""
    if query is None:
        return Group("And", ())
    if isinstance(query, Group):
        return query
    if isinstance(query, Condition):
        return Group("And", (query,))
    if isinstance(query, Mapping):
        return And(*(v if isinstance(v, Condition) else Exact(k, v) for k, v in query.items()))
    return And(*query)


def parse_sort(sort: Iterable[str | tuple[str, str]] | None) -> list[dict[str, str]]:
    """`["DOC_DATE desc", ("AMOUNT", "Asc")]` → SortOrder entries."""
    order = []
    for item in sort or ():
        name, _, direction = (
            item.partition(" ") if isinstance(item, str) else (item[0], "", item[1])
        )
        direction = (direction.strip() or "Asc").capitalize()
        if direction not in ("Asc", "Desc", "Default"):
            raise ValueError(f"Sort direction for {name} must be Asc or Desc, got {direction!r}.")
        order.append({"Field": name, "Direction": direction})
    return order


def clamp_page_size(count: int) -> int:
    return max(1, min(int(count), MAX_PAGE_SIZE))


def expression_body(
    query: Query, *, sort: Iterable[str | tuple[str, str]] | None = None, count: int = 1000
) -> dict[str, Any]:
    group = as_group(query)
    return {
        "Condition": [c.to_json() for c in group.conditions],
        "Operation": group.operation,
        "SortOrder": parse_sort(sort),
        "ForceRefresh": True,
        "Start": 0,
        "Count": clamp_page_size(count),
    }


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
