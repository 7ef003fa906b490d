"""Reading a search's hits past one answer: how far its `next` links are followed, and every
document a query matches, read in ranges of document ids.

Following `next` (`Pages`): a server that declares 10,000,000 hits and serves `next` pages for
ever must not hold a batch of rows for minutes. Once the pages that `Count.Value` needs at the
first page's size are read (when `HasMore` does not say the count is only a floor), the search
has every hit it declared and stops following; one that needs more than `cap` pages fails with
a sentence (at once when its declared count says so), and its rows with it.

Ranges of ids (`resolve`, `read_range`): DocuWare answers at most 10,000 results a search
request (422 above, reference §3.2), and whether paging with `start` reaches past that is
UNCONFIRMED. So a query's hits are read in ranges of `DWDOCID`: each request asks for the next
`page` hits sorted by DWDOCID ascending, from one past the last id read; the range ends where
that answer ends. Whatever the total, each document is read once, a reader stopped after any
range continues from the last id it kept, and an empty answer is the end. A server that answers
422 for the page size (a limit lower than DocuWare's, a dialog's own) is asked again for half as
many, down to one. A condition of the query's own on DWDOCID (`DWDOCID=1000..`, `DWDOCID=1234`)
bounds the ranges instead of being sent beside them, since DocuWare's one flat condition list
has no place for two conditions on one field.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from exmado_tui.docuware.body import MB, size_text
from exmado_tui.docuware.errors import BadRequestError, RefusedAnswerError, UnexpectedResponseError
from exmado_tui.docuware.models import Dialog, Document, FieldInfo, FileCabinet
from exmado_tui.docuware.query import ID_FIELD, And, Condition, Group, Match, Query, Range, Wanted
from exmado_tui.docuware.values import to_int

# Pages a search follows when its caller sets no cap of its own (a million hits at 1,000).
MAX_PAGES = 1000


@dataclass
class Pages:
    """The pages read so far of one search, and how many it may read."""

    path: str
    declared: int | None
    per_page: int
    cap: int
    max_mb: float  # `[docuware] max_json_mb`: all of a search's pages together
    read: int = 1
    size: int = 0  # bytes of the pages read

    @classmethod
    def of(
        cls, first: Mapping[str, Any], items: int, path: str, cap: int | None, max_mb: float
    ) -> Pages:
        count = first.get("Count")
        declared = None
        if isinstance(count, Mapping) and not count.get("HasMore"):
            declared = to_int(count.get("Value"))
        return cls(path, declared, max(items, 1), cap or MAX_PAGES, max_mb)

    @property
    def needed(self) -> int | None:
        """The pages the declared count fills at the first page's size."""
        return None if self.declared is None else math.ceil(self.declared / self.per_page)

    def another(self) -> bool:
        """Count one more page: False when the declared hits are all read; past the cap, a
        refusal with a sentence."""
        needed = self.needed
        if needed is not None and self.read >= needed:
            return False
        if self.size > self.max_mb * MB:  # what a search holds: its hits of every page
            raise self._refusal(
                f"answered {size_text(self.size)} in {self.read:,} result pages of one search, "
                f"over [docuware] max_json_mb = {self.max_mb:g} (all its pages together)"
            )
        if self.read >= self.cap or (needed or 0) > self.cap:  # the cap would stop it anyway
            said = "" if self.declared is None else f" for the {self.declared:,} hits it declared"
            raise self._refusal(
                f"would send more than {self.cap:,} result pages of {self.per_page:,}{said} "
                "for one search"
            )
        self.read += 1
        return True

    def add(self, size: int) -> None:
        """Count a page's bytes."""
        self.size += size

    def _refusal(self, what: str) -> RefusedAnswerError:
        return RefusedAnswerError(f"DocuWare {what}; the search was stopped.", path=self.path)


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
