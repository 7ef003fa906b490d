"""Every document a query matches, each exactly once, read in ranges of document ids.

DocuWare answers at most 10,000 results a search request (422 above, reference §3.2), and
whether paging with `start` reaches past that is UNCONFIRMED. So a query's hits are read in
ranges of `DWDOCID`: each request asks for the next `page` hits sorted by DWDOCID ascending,
from one past the last id read; the range ends where that answer ends. Whatever the total,
each document is read once, a reader stopped after any range continues from the last id it
kept, and an empty answer is the end. A server that answers 422 for the page size (a limit
lower than DocuWare's, a dialog's own) is asked again for half as many, down to one.

A condition of the query's own on DWDOCID (`DWDOCID=1000..`, `DWDOCID=1234`) bounds the ranges
instead of being sent beside them, since DocuWare's one flat condition list has no place for
two conditions on one field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from exmado_tui.docuware.conditions import Match, Wanted
from exmado_tui.docuware.errors import BadRequestError, UnexpectedResponseError
from exmado_tui.docuware.models import Dialog, Document, FieldInfo, FileCabinet
from exmado_tui.docuware.query import ID_FIELD, And, Condition, Group, Query, Range

CabinetLike = FileCabinet | str


class RangeClient(Protocol):
    """What reading ranges needs of a client (`AsyncDocuWareClient` has it)."""

    async def dialog(self, cabinet: CabinetLike, dialog_id: str | None = None) -> Dialog: ...

    async def cabinet_fields(self, cabinet: CabinetLike) -> list[FieldInfo]: ...

    def search(
        self,
        cabinet: CabinetLike,
        query: Query = None,
        *,
        dialog: str | None = None,
        sort: Iterable[str | tuple[str, str]] | None = None,
        page_size: int = 1000,
        limit: int | None = None,
    ) -> AsyncIterator[Document]: ...


PAGE = 1000  # hits a request asks for: a tenth of DocuWare's limit, a page of ~1 MB
ID_INFO = FieldInfo(ID_FIELD, "Document id", "Numeric")


@dataclass(frozen=True)
class Resolved:
    """A query's conditions on DB names, checked against their types, and its id bounds."""

    conditions: tuple[Condition, ...]
    low: int | None = None
    high: int | None = None

    def query(self, after: int) -> Group:
        """The conditions, with the id range from one past `after` to the query's own end."""
        low = max(after + 1, self.low or 0)
        return And(*self.conditions, Range(ID_FIELD, low, self.high))


async def resolve(
    client: RangeClient, cabinet: CabinetLike, dialog: Dialog, wanted: Sequence[Wanted]
) -> Resolved:
    """The conditions on the fields of `dialog` (a label or any case), or of the cabinet for
    a field the dialog leaves out (DocuWare searches system fields such as DWSTOREDATETIME
    from any dialog); an unknown field or a value its type refuses is one sentence."""
    cabinet_fields: list[FieldInfo] | None = None
    conditions: list[Condition] = []
    low = high = None
    for item in wanted:
        field = dialog.field(item.field)
        if field is None:
            if cabinet_fields is None:
                cabinet_fields = await client.cabinet_fields(cabinet)
            field = _named(cabinet_fields, item.field) or _id_field(item.field)
        if field is None:
            raise ValueError(_unknown(item, dialog))
        if field.db_name.upper() == ID_FIELD:
            low, high = _id_bounds(item.on(ID_INFO))
            continue
        conditions.append(item.condition(field))
    return Resolved(tuple(conditions), low, high)


async def read_range(
    client: RangeClient,
    cabinet: CabinetLike,
    resolved: Resolved,
    *,
    dialog: str | None,
    after: int,
    page: int = PAGE,
) -> tuple[list[Document], int]:
    """The hits of the range after document id `after` (none: the query is read), and the
    page size the server took."""
    while True:
        try:
            found = client.search(
                cabinet,
                resolved.query(after),
                dialog=dialog,
                sort=[(ID_FIELD, "Asc")],
                page_size=page,
                limit=page,
            )
            documents = [doc async for doc in found]
        except BadRequestError as exc:
            if page == 1 or "limit" not in str(exc).lower():
                raise
            page = max(1, page // 2)
            continue
        _check_order(documents, after)
        return documents, page


def _check_order(documents: list[Document], after: int) -> None:
    """Ranges need the hits in id order: a server that did not sort them would lose some."""
    previous = after
    for doc in documents:
        if doc.id <= previous:
            raise UnexpectedResponseError(
                f"DocuWare answered document {doc.id} after {previous} although the search "
                f"asked for {ID_FIELD} from {after + 1} in ascending order; the query's "
                "documents cannot be read in ranges of ids on this server."
            )
        previous = doc.id


def _named(fields: Sequence[FieldInfo], name: str) -> FieldInfo | None:
    wanted = name.casefold()
    return next((f for f in fields if wanted in (f.db_name.casefold(), f.label.casefold())), None)


def _id_field(name: str) -> FieldInfo | None:
    """DWDOCID, which every document has, even where the cabinet's description leaves it out."""
    return ID_INFO if name.upper() == ID_FIELD else None


def _id_bounds(item: Wanted) -> tuple[int | None, int | None]:
    if item.match not in (Match.EXACT, Match.RANGE):
        raise ValueError(
            f"Condition {item.text!r}: {ID_FIELD} takes one document id or a range of them "
            f"({ID_FIELD}=1000..2000, {ID_FIELD}=1000..)."
        )
    condition = item.condition(ID_INFO)  # checks that each end is a whole number
    ends = [None if v is None else int(v) for v in condition.values]
    return (ends[0], ends[0]) if item.match is Match.EXACT else (ends[0], ends[1])


def _unknown(item: Wanted, dialog: Dialog) -> str:
    names = ", ".join(f.db_name for f in dialog.fields)
    return (
        f"Condition {item.text!r}: the search dialog {dialog.name!r} has no field "
        f"{item.field!r}, nor has its cabinet; its fields: {names}."
    )
