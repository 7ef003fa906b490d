"""Dialog-expression search: condition parsing, matching, sorting and the opaque query forms."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote, unquote

from exmado_tui.sandbox import schema
from exmado_tui.sandbox.data import Catalogue
from exmado_tui.sandbox.schema import Document

EMPTY = "EMPTY()"
NOTEMPTY = "NOTEMPTY()"
DEFAULT_COUNT = 50
LIMIT_MESSAGE = (
    "The requested search result count exceeds the system limit of {limit} per request. "
    "Use paging (start and count) to retrieve more results. (SearchResultLimitExceed)"
)

DOC_ID = "DWDOCID"


class SearchError(ValueError):
    """A search the server refuses with 422; the message is shown to the client."""


@dataclass(frozen=True)
class Condition:
    """One DBName with one value (exact/wildcard/function) or two values (inclusive range)."""

    field: str
    values: tuple[str | None, ...]


@dataclass(frozen=True)
class Query:
    """A complete search: cabinet, dialog, conditions, operation and sort order."""

    cabinet_id: str
    dialog_id: str
    conditions: tuple[Condition, ...] = ()
    operation: str = "And"
    sort: tuple[tuple[str, str], ...] = ()
    fields: tuple[str, ...] = field(default=())

    def to_token(self) -> str:
        """An opaque, URL-safe id from which the same query can be rebuilt."""
        raw = json.dumps(
            [
                self.cabinet_id,
                self.dialog_id,
                [[c.field, list(c.values)] for c in self.conditions],
                self.operation,
                self.sort,
                self.fields,
            ]
        )
        return base64.urlsafe_b64encode(zlib.compress(raw.encode(), 9)).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> Query:
        """Rebuild a query from to_token(); SearchError if it is not one of ours."""
        try:
            raw = zlib.decompress(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            cab, dialog, conds, op, sort, fields = json.loads(raw)
            conditions = tuple(Condition(f, tuple(v)) for f, v in conds)
            return cls(cab, dialog, conditions, op, tuple(map(tuple, sort)), tuple(fields))
        except (ValueError, TypeError, zlib.error) as exc:
            raise SearchError(f"The result id {token!r} is not valid.") from exc


def parse_body(cab: schema.CabinetDef, dialog_id: str, body: dict[str, Any]) -> Query:
    """Validate a DialogExpression JSON body into a Query."""
    if not isinstance(body, dict):
        raise SearchError("The dialog expression must be a JSON object.")
    conditions = tuple(_condition(cab, c) for c in body.get("Condition") or [])
    operation = str(body.get("Operation") or "And").capitalize()
    if operation not in ("And", "Or"):
        raise SearchError(f"Operation must be And or Or, not {operation!r}.")
    sort = tuple(
        _sort_entry(cab, s.get("Field"), s.get("Direction")) for s in body.get("SortOrder") or []
    )
    extra = tuple(_field_name(cab, f) for f in body.get("AdditionalResultFields") or [])
    kept = tuple(c for c in conditions if c.values)
    return Query(cab.id, dialog_id, kept, operation, sort, extra)


def _condition(cab: schema.CabinetDef, raw: Any) -> Condition:
    if not isinstance(raw, dict) or "DBName" not in raw:
        raise SearchError("Each condition needs a DBName and a Value list.")
    values = raw.get("Value") or []
    if isinstance(values, str | int | float):
        values = [values]
    if len(values) > 2:
        raise SearchError(f"Condition on {raw['DBName']} has {len(values)} values; 1 or 2 allowed.")
    clean = tuple(None if v is None else str(v) for v in values)
    fdef = cab.known_field(_field_name(cab, raw["DBName"]))
    for value in clean:
        _check_value(fdef, value)
    return Condition(fdef.name, clean)


def _field_name(cab: schema.CabinetDef, name: Any) -> str:
    fdef = cab.field(str(name or ""))
    if fdef is None:
        raise SearchError(f"The field '{name}' does not exist in file cabinet '{cab.name}'.")
    return fdef.name


def _sort_entry(cab: schema.CabinetDef, name: Any, direction: Any) -> tuple[str, str]:
    direction = str(direction or "Asc").capitalize()
    if direction not in ("Asc", "Desc", "Default"):
        raise SearchError(f"Sort direction must be Asc or Desc, not {direction!r}.")
    return _field_name(cab, name), "Desc" if direction == "Desc" else "Asc"


def parse_sort_param(cab: schema.CabinetDef, text: str) -> tuple[tuple[str, str], ...]:
    """The sortOrder query parameter ("FIELD Asc"); like DocuWare, only one field is kept."""
    first = text.replace("+", " ").split(",")[0].split()
    if not first:
        return ()
    return (_sort_entry(cab, first[0], first[1] if len(first) > 1 else "Asc"),)


def _check_value(fdef: schema.FieldDef, value: str | None) -> None:
    if value is None or value.upper() in (EMPTY, NOTEMPTY):
        return
    if "/Date(" in value:
        raise SearchError(
            f"The value '{value}' for field {fdef.name} is not valid: "
            "use an ISO date (yyyy-MM-dd), not /Date(...)/."
        )
    _pattern(value)  # raises on unescaped parentheses
    if _is_wildcard(value):
        return
    if fdef.element in ("Date", "DateTime"):
        parse_date(value, fdef.name)
    elif fdef.element in ("Int", "Decimal"):
        _number(value, fdef.name)


def _is_wildcard(value: str) -> bool:
    return re.search(r"(?<!\\)[*?]", value) is not None


def _pattern(value: str) -> tuple[bool, str]:
    """(has wildcards, regex or literal) for a value with \\-escapes, * and ?."""
    out, literal, wild, i = [], [], False, 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            i += 1
            out.append(re.escape(value[i]))
            literal.append(value[i])
        elif ch in "()":
            raise SearchError(
                f"The value '{value}' contains an unescaped '{ch}'; "
                "write \\( and \\) for literal parentheses."
            )
        elif ch in "*?":
            wild = True
            out.append(".*" if ch == "*" else ".")
        else:
            out.append(re.escape(ch))
            literal.append(ch)
        i += 1
    return wild, "".join(out) if wild else "".join(literal)


def parse_date(value: str, field_name: str = "") -> int:
    """An ISO date or date-time search value as ms since the epoch (UTC)."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(
            f"The value '{value}' for field {field_name} is not a valid date; "
            "use yyyy-MM-dd or yyyy-MM-ddTHH:mm:ss."
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def _number(value: str, field_name: str) -> float:
    try:
        return float(value.strip().replace(",", "."))
    except ValueError as exc:
        raise SearchError(f"The value '{value}' for field {field_name} is not a number.") from exc


Matcher = Callable[[Any], bool]


def matcher(fdef: schema.FieldDef, values: tuple[str | None, ...]) -> Matcher:
    """A predicate over a raw field value for one condition."""
    if len(values) == 1 and values[0] is not None and values[0].upper() in (EMPTY, NOTEMPTY):
        empty = values[0].upper() == EMPTY
        return lambda v: _is_empty(v) == empty
    if len(values) == 2:
        test = _range(fdef, values[0], values[1])
    else:
        test = _single(fdef, values[0] or "")
    if fdef.element == "Keywords":
        return lambda v: any(test(k) for k in v or ())
    return lambda v: v is not None and v != "" and test(v)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _single(fdef: schema.FieldDef, value: str) -> Matcher:
    wild, pattern = _pattern(value)
    if wild:
        regex = re.compile(pattern, re.IGNORECASE | re.DOTALL)
        return lambda v: regex.fullmatch(_as_text(fdef, v)) is not None
    if fdef.element in ("Date", "DateTime"):
        low, high = _day_bounds(fdef, pattern)
        return lambda v: low <= v <= high
    if fdef.element in ("Int", "Decimal"):
        number = _number(pattern, fdef.name)
        return lambda v: abs(v - number) < 0.005
    folded = pattern.casefold()
    return lambda v: v.casefold() == folded


def _range(fdef: schema.FieldDef, low: str | None, high: str | None) -> Matcher:
    if low is None and high is None:
        return lambda v: True
    if any(b is not None and b.upper() in (EMPTY, NOTEMPTY) for b in (low, high)):
        return lambda v: False  # like DocuWare: EMPTY() as a range bound matches nothing
    lo = _bound(fdef, low, upper=False)
    hi = _bound(fdef, high, upper=True)
    return lambda v: (lo is None or _key(fdef, v) >= lo) and (hi is None or _key(fdef, v) <= hi)


def _bound(fdef: schema.FieldDef, value: str | None, upper: bool) -> Any:
    if value is None:
        return None
    literal = _pattern(value)[1] if not _is_wildcard(value) else value
    if fdef.element in ("Date", "DateTime"):
        return _day_bounds(fdef, literal)[1 if upper else 0]
    if fdef.element in ("Int", "Decimal"):
        return _number(literal, fdef.name)
    return literal.casefold()


def _day_bounds(fdef: schema.FieldDef, value: str) -> tuple[int, int]:
    """A date-only value covers its whole (UTC) day; a date-time value is an instant."""
    start = parse_date(value, fdef.name)
    if "T" in value or " " in value.strip():
        return start, start
    return start, start + 86_400_000 - 1


def _key(fdef: schema.FieldDef, value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _as_text(fdef: schema.FieldDef, value: Any) -> str:
    if fdef.element in ("Date", "DateTime"):
        stamp = dt.datetime.fromtimestamp(value / 1000, dt.UTC)
        return stamp.strftime("%Y-%m-%d") if fdef.element == "Date" else stamp.isoformat()
    if fdef.element == "Decimal":
        return f"{value:.2f}"
    return str(value)


class Searcher:
    """Runs queries over a catalogue, with per-field exact-match indexes for the common case."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self._indexes: dict[tuple[str, str], tuple[int, dict[str, list[int]]]] = {}

    def run(self, query: Query) -> list[Document]:
        """All documents matching the query, sorted."""
        cab = schema.cabinet(query.cabinet_id)
        assert cab is not None
        docs = self._candidates(cab, query)
        if query.conditions:
            tests = [
                (c.field, matcher(cab.known_field(c.field), c.values)) for c in query.conditions
            ]
            combine = all if query.operation == "And" else any
            docs = [d for d in docs if combine(t(d.value(name)) for name, t in tests)]
        return sort_documents(cab, docs, query.sort or (cab.default_sort,))

    def _candidates(self, cab: schema.CabinetDef, query: Query) -> list[Document]:
        exact = [c for c in query.conditions if self._indexable(cab, c)]
        if query.operation == "And" and exact:
            ids = self._lookup(cab, exact[0])
            return [self.catalogue.known_document(cab.id, i) for i in ids or ()]
        if query.operation == "Or" and exact and len(exact) == len(query.conditions):
            union = {i for cond in exact for i in self._lookup(cab, cond)}  # id order as a scan
            return [self.catalogue.known_document(cab.id, i) for i in sorted(union)]
        return self.catalogue.documents(cab.id)

    def _lookup(self, cab: schema.CabinetDef, cond: Condition) -> list[int]:
        value = cond.values[0] or ""  # indexable conditions have a value (_indexable)
        if cond.field.upper() == DOC_ID:  # a query job's rows: found by id, not by a scan
            return [int(value)] if self.catalogue.document(cab.id, int(value)) else []
        return self._index(cab, cond.field).get(_pattern(value)[1].casefold()) or []

    @staticmethod
    def _indexable(cab: schema.CabinetDef, cond: Condition) -> bool:
        fdef = cab.known_field(cond.field)
        value = cond.values[0] if len(cond.values) == 1 else None
        if cond.field.upper() == DOC_ID:
            return value is not None and value.strip().isdigit()
        return (
            fdef.element == "String"
            and value is not None
            and not _is_wildcard(value)
            and value.upper() not in (EMPTY, NOTEMPTY)
        )

    def _index(self, cab: schema.CabinetDef, name: str) -> dict[str, list[int]]:
        version, index = self._indexes.get((cab.id, name), (-1, {}))
        if version != self.catalogue.version:
            with self.catalogue.lock:
                version, index = (
                    self.catalogue.version,
                    _build_index(self.catalogue.documents(cab.id), name),
                )
            self._indexes[(cab.id, name)] = (version, index)
        return index


def _build_index(docs: Iterable[Document], name: str) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for doc in docs:
        value = doc.value(name)
        if isinstance(value, str):
            index.setdefault(value.casefold(), []).append(doc.id)
    return index


def _sort_key_of(fdef: schema.FieldDef, doc: Document) -> Any:
    return _sort_key(fdef, doc.value(fdef.name))


def sort_documents(
    cab: schema.CabinetDef, docs: list[Document], order: tuple[tuple[str, str], ...]
) -> list[Document]:
    """Stable multi-key sort; empty values sort first ascending, last descending."""
    result = list(docs)
    for name, direction in reversed(order):
        fdef = cab.known_field(name)
        result.sort(key=partial(_sort_key_of, fdef), reverse=direction == "Desc")
    return result


def _sort_key(fdef: schema.FieldDef, value: Any) -> tuple[bool, Any]:
    if _is_empty(value):
        return False, "" if fdef.element in ("String", "Memo", "Keywords") else 0
    if isinstance(value, list):
        return True, value[0].casefold()
    return True, _key(fdef, value)


# ---- the q= grammar of DialogExpressionLink (only has to read back what it wrote) ---------


def to_q(query: Query) -> str:
    """The q parameter: dialog;<id>;;<Operation>;;FIELD:value;FIELD:>=a AND <=b."""
    parts = [f"dialog;{query.dialog_id};;{query.operation};"]
    parts += [f"{c.field}:{_q_value(c.values)}" for c in query.conditions]
    return ";".join(parts)


def _q_value(values: tuple[str | None, ...]) -> str:
    if len(values) == 1:
        return quote(values[0] or "", safe="*?\\-_.")
    low, high = values
    bounds = [
        f">={quote(low, safe='-_.:')}" if low is not None else "",
        f"<={quote(high, safe='-_.:')}" if high is not None else "",
    ]
    return " AND ".join(b for b in bounds if b) or ">="


def from_q(cab: schema.CabinetDef, q: str) -> Query:
    """Parse a q parameter produced by to_q; SearchError otherwise."""
    parts = q.split(";")
    if len(parts) < 5 or parts[0].lower() != "dialog":
        raise SearchError(f"The query '{q}' is not a valid dialog query.")
    operation = parts[3].capitalize() or "And"
    conditions = tuple(_q_condition(cab, p) for p in parts[5:] if p)
    return Query(cab.id, parts[1], conditions, operation)


def _q_condition(cab: schema.CabinetDef, part: str) -> Condition:
    name, sep, raw = part.partition(":")
    if not sep:
        raise SearchError(f"The query condition '{part}' is not valid.")
    if raw.startswith((">=", "<=")):
        low = high = None
        for bound in raw.split(" AND "):
            if bound.startswith(">=") and len(bound) > 2:
                low = unquote(bound[2:])
            elif bound.startswith("<="):
                high = unquote(bound[2:])
        return Condition(_field_name(cab, name), (low, high))
    return Condition(_field_name(cab, name), (unquote(raw),))
