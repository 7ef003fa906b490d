"""A job's rows from a DocuWare query instead of a workbook: what the job keeps of the query.

A query job's configuration holds `query` (this, as a table) beside the profile's settings;
its rows are the documents the query found, one a row, the document id its key (column
`Document id`, searched as DWDOCID), read into the store by the worker in ranges of ids
(`exmado_tui/docuware/id_ranges.py`). The job's workbook name carries the query's text, its
SHA-256 that of the query, so lists, reports and searches by text name it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from exmado_tui.docuware.conditions import Wanted, parse_conditions
from exmado_tui.docuware.query import ID_FIELD
from exmado_tui.errors import ProfileError

if TYPE_CHECKING:  # the session loads httpx
    from exmado_tui.docuware.session import DocuWareSession

KEY = "query"
COLUMN = "Document id"  # the one column of a query job's rows: the document's id
COLUMNS = {COLUMN: ID_FIELD}


@dataclass(frozen=True)
class QuerySource:
    """The cabinet, dialog and conditions (as written) of a query job, and its first count."""

    cabinet: str
    conditions: tuple[str, ...]
    dialog: str = ""  # empty: the cabinet's default search dialog
    counted: int | None = None  # DocuWare's count when the job was created

    def wanted(self) -> list[Wanted]:
        return parse_conditions(self.conditions)

    @property
    def text(self) -> str:
        """`query Invoices: DOC_DATE=2023-01-01..2023-12-31 SUPPLIER=ACME*`, for people."""
        dialog = f" ({self.dialog})" if self.dialog else ""
        conditions = " ".join(self.conditions) or "every document"
        return f"query {self.cabinet}{dialog}: {conditions}"[:255]

    @property
    def sha256(self) -> str:
        """Of the query (not of its count): the same query twice has the same digest."""
        what = {"cabinet": self.cabinet, "dialog": self.dialog, "conditions": self.conditions}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "conditions": list(self.conditions)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> QuerySource:
        cabinet, dialog = data.get("cabinet"), data.get("dialog", "")
        conditions = data.get("conditions", [])
        counted = data.get("counted")
        if not isinstance(cabinet, str) or not cabinet.strip():
            raise ProfileError(f"{where}: [query] cabinet must name a cabinet.")
        if not isinstance(dialog, str):
            raise ProfileError(f"{where}: [query] dialog must be text, got {dialog!r}.")
        if not _texts(conditions):
            raise ProfileError(
                f'{where}: [query] conditions must be a list of "FIELD=VALUE" texts.'
            )
        if counted is not None and not isinstance(counted, int):
            counted = None
        source = cls(cabinet.strip(), tuple(conditions), dialog, counted)
        try:
            source.wanted()
        except ValueError as exc:
            raise ProfileError(f"{where}: {exc}") from None
        return source


def count_query(session: DocuWareSession, source: QuerySource) -> int:
    """DocuWare's count of the query's documents; a field or value it cannot take is one
    sentence naming the field (ValueError)."""
    from exmado_tui.docuware.id_ranges import resolve

    dialog = session.dialog(source.cabinet, source.dialog or None)
    resolved = session.run(resolve(session.client, source.cabinet, dialog, source.wanted()))
    return session.count(source.cabinet, resolved.query(0), dialog=dialog.id)


def query_of(config: Mapping[str, Any] | None, where: str) -> QuerySource | None:
    """The query a job's configuration holds, or None for a workbook job."""
    raw = (config or {}).get(KEY)
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{where}: [query] must be a table.")
    return QuerySource.from_dict(raw, where)


def _texts(items: Any) -> bool:
    return (
        isinstance(items, Sequence)
        and not isinstance(items, str)
        and all(isinstance(i, str) for i in items)
    )
