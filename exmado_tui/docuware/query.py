"""Search conditions and the DialogExpression body they become.

DocuWare's body is one flat list of conditions joined by one `Operation`, so `And`/`Or`
take conditions, not other groups. Per condition: one value = exact or wildcard match,
two values = inclusive range with JSON null as an open end, `EMPTY()`/`NOTEMPTY()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
