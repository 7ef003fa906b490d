"""One row on the event loop: search DocuWare, choose among the hits, place the files.

`on_multiple`: `all` takes every hit, `first` the first the server lists, `newest` the one
with the latest DWSTOREDATETIME (else the highest document id), `fail` marks the row
`ambiguous`. No hit → `not_found`. A transient failure (network, throttling, 5xx after the
client's own retries) comes back marked `retryable` so the runner can try the row again later.

Searches are batched when the profile has one key column: the rows waiting in the inbox (up to
`BATCH_MAX`) are looked up with one `Or` search, and each hit goes to the row whose value it
carries, in the server's order, cut to the row's own `limit` — what each row's own search
would have answered, at one request for the batch instead of one a row. Whenever that
cannot be told for sure (the batch search fails for a reason that may be its own, a hit
carries no text value for the field or one no row asked for, two rows differ only in case,
an empty value) the rows concerned search one by one as before, with their own retries and
errors. A batch failed by DocuWare as a whole (out of reach, unavailable, throttling past
the retries: `server_wide`) fails its rows with that error instead: each row's own search
would meet it too, only after as many retries again.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from dataclasses import dataclass, field
from functools import partial

from exmado_tui.config.profiles import OnMultiple, Profile
from exmado_tui.config.templates import Values
from exmado_tui.docuware.errors import (
    DocuWareError,
    DocuWareNetworkError,
    NotFoundError,
    RefusedAnswerError,
    server_wide,
)
from exmado_tui.docuware.models import Dialog, Document, FileCabinet
from exmado_tui.docuware.paging import ID_INFO
from exmado_tui.docuware.query import ID_FIELD, And, Exact, Or
from exmado_tui.errors import BlockedFolderError, PermanentError, ProfileError, RetryableError
from exmado_tui.files import is_no_space, is_not_permitted, no_space, not_writable
from exmado_tui.job.status import Event, RowStatus
from exmado_tui.workbook.checks import normalise_header
from workers.pipeline.files import FileRecord, PartlyPlaced, Placed, Placer
from workers.runtime import DocuWarePort

log = logging.getLogger("exmado.pipeline")
NEWEST_FIELDS = ("DWSTOREDATETIME", "DWMODDATETIME")
BATCH_MAX = 50
# A row's hits from a batch; None: the row searches on its own; an error its own search would
# meet too (an answer refused for the whole batch, DocuWare failing as a whole): the row
# fails with it.
Found = list[Document] | DocuWareError | None
# Result pages a key search follows (a batch of up to BATCH_MAX keys): 10,000 hits at 1,000.
KEY_SEARCH_PAGES = 10
Inbox = asyncio.Queue["RowTask | None"]  # rows to search; None: no more rows
Ready = asyncio.Queue["tuple[RowTask, Found] | None"]  # searched rows for the downloaders
# Rows in hand per permit: a row files its download (fsync, rename: 2-6 ms) without its
# permit, which another row's download takes meanwhile (measured at 50 ms latency: a permit
# held through the filing spent a tenth of its time there).
WORKERS_PER_PERMIT = 2


@dataclass(frozen=True)
class RowTask:
    id: int
    number: int
    key: str
    values: dict[str, str]
    second_chance: bool = False


@dataclass
class RowResult:
    task: RowTask
    status: RowStatus
    error: str = ""
    documents: int = 0
    files: list[FileRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    retryable: bool = False
    unreachable: bool = False  # failed for DocuWare out of reach (no answer at all)
    # The workbook leaves the row unable to run (an empty key), as ingest refuses such rows:
    # progress marks it `failed_at_import` (no attempt), so `JobService.retry` leaves it failed.
    failed_at_import: bool = False


class RowEngine:
    """Runs rows with at most `permits.count` requests in flight; results go to a thread-safe queue.

    A row holds a permit only while it searches or downloads (the placer's), and a batch search
    holds one too, so searches and downloads together never exceed `permits.count` requests;
    `WORKERS_PER_PERMIT` times as many workers each hold a row, so the permit of a row filing
    its download serves another's. Each request carries the permits: one DocuWare holds lends
    its permit to the rows behind it (`budget.RowPermits`).
    """

    def __init__(
        self,
        client: DocuWarePort,
        profile: Profile,
        placer: Placer,
        results: queue.Queue[RowResult],
    ) -> None:
        self.client = client
        self.profile = profile
        self.placer = placer
        self.results = results
        self.permits = permits = placer.permits  # requests in flight: searches + downloads
        self.workers = permits.count * WORKERS_PER_PERMIT
        self.cabinet: FileCabinet | str = profile.cabinet
        self.fields = dict(profile.columns)  # column → DB name, settled by `prepare`
        self.throttling = permits.watch  # this job's slowdowns, for its event log
        self.stopping = False  # the run is ending: no row starts any more

    async def prepare(self) -> None:
        """Resolve cabinet, dialog and fields once: what fails here fails the job, not each row.

        A profile may name a field in another case or by its label; DocuWare wants, and
        answers with, the dialog's DB name — hits of a batch are matched by it.
        """
        try:
            self.cabinet = await self.client.find_cabinet(self.profile.cabinet)
            dialog = await self.client.dialog(self.cabinet, self.profile.dialog or None)
        except NotFoundError as exc:  # the profile names what DocuWare does not have
            raise ProfileError(str(exc)) from None
        self.fields = {
            column: _db_name(dialog, field, column)
            for column, field in self.profile.columns.items()
        }

    async def serve(self, inbox: Inbox) -> None:
        """Run the rows put into `inbox` until it yields None."""
        ready: asyncio.Queue[tuple[RowTask, Found] | None] = asyncio.Queue()
        tasks = [asyncio.create_task(self._worker(ready)) for _ in range(self.workers)]
        tasks.append(asyncio.create_task(self._searcher(inbox, ready)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            # A row failing the run (a blocked folder) cuts the others: end once they have,
            # as the runner takes their cut events (`Placer.cut_events`) when this ends.
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _searcher(self, inbox: Inbox, ready: Ready) -> None:
        """Take the rows waiting in the inbox, search them as one batch, hand them on."""
        while not self.stopping:
            batch = [await inbox.get()]
            while batch[-1] is not None and len(batch) < BATCH_MAX and not inbox.empty():
                batch.append(inbox.get_nowait())
            tasks = [t for t in batch if t is not None]
            found = await self._search_batch_with_permit(tasks) if len(tasks) > 1 else {}
            for task in tasks:
                ready.put_nowait((task, found.get(task.id)))
            if batch[-1] is None:
                for _ in range(self.workers):
                    ready.put_nowait(None)
                return

    async def _search_batch_with_permit(self, tasks: list[RowTask]) -> dict[int, Found]:
        async with self.permits:
            return await self.search_batch(tasks)

    def stop_taking(self) -> None:
        """The run is ending (a pause, a cancel, DocuWare found down): the rows in flight may
        finish in its grace, no other starts, to be cut at its end and done again (they stay
        pending)."""
        self.stopping = True

    async def _worker(self, ready: Ready) -> None:
        while (item := await ready.get()) is not None and not self.stopping:
            result = await self.process(*item)
            result.events += self.throttling.sentences()
            self.results.put(result)

    async def process(self, task: RowTask, found: Found = None) -> RowResult:
        """One row; `found`: its hits from a batch search (None: search for it here)."""
        try:
            return await self._process(task, found)
        except PartlyPlaced as partly:
            return self._failed(task, partly.failure, partly.placed)
        except Exception as exc:
            return self._failed(task, exc, Placed([]))

    def _failed(self, task: RowTask, exc: Exception, placed: Placed) -> RowResult:
        """The row failed by `exc`, with the files it `placed` before (they are on disk); a
        full disk or a folder the worker may not write raises instead: every next row would
        fail too. The row then stays pending, as a cut one does, and its redo finds a file
        it overwrote identical: that overwrite is told as the run ends (`cut_events`)."""
        if (blocked := self._blocked(exc)) is not None:
            self.placer.cut_events += placed.events
            if blocked is exc:
                raise exc
            raise blocked from exc
        failed = partial(
            RowResult, task, RowStatus.FAILED, files=placed.records, events=placed.events
        )
        match exc:
            case RetryableError():
                unreachable = isinstance(exc, DocuWareNetworkError)
                return failed(_sentence(task, exc), retryable=True, unreachable=unreachable)
            case PermanentError():
                return failed(_sentence(task, exc))
        log.error("Row %d failed unexpectedly", task.number, exc_info=exc)
        return failed(f"Row {task.number}: {type(exc).__name__}: {exc}")

    def _blocked(self, exc: Exception) -> BlockedFolderError | None:
        """What `exc` says, if it means nothing more can be written in the output folder."""
        match exc:
            case BlockedFolderError():
                return exc
            case RetryableError() | PermanentError():
                return None
            case _ if is_no_space(exc):
                return no_space(self.placer.root, "the output folder")
            case _ if is_not_permitted(exc):
                return not_writable(self.placer.root, exc)
        return None

    async def _process(self, task: RowTask, found: Found) -> RowResult:
        if (column := self._blank_column(task)) is not None:
            return RowResult(
                task,
                RowStatus.FAILED,
                f"Row {task.number} has no value in column {column!r}; fix the workbook and "
                "create the job again.",
                failed_at_import=True,
            )
        if isinstance(found, DocuWareError):
            raise found
        docs = await self._search(task) if found is None else found
        if not docs:
            return RowResult(task, RowStatus.NOT_FOUND, f"No document matches {self._terms(task)}.")
        if len(docs) > 1 and self.profile.on_multiple == "fail":
            return RowResult(
                task,
                RowStatus.AMBIGUOUS,
                f"{len(docs)} documents match {self._terms(task)} and on_multiple = fail.",
            )
        chosen = choose(docs, self.profile.on_multiple)
        # Cut between its documents (a pause's grace ran out), the row stays pending: the files
        # it placed go with it (`in_turn`), or they would be on disk with no record.
        placed = await self.placer.in_turn(
            partial(self.placer.place, doc, _values(doc, task)) for doc in chosen
        )
        return RowResult(
            task, RowStatus.DONE, documents=len(chosen), files=placed.records, events=placed.events
        )

    async def _search(self, task: RowTask) -> list[Document]:
        conditions = [Exact(field, value) for field, value in self._pairs(task)]
        query = conditions[0] if len(conditions) == 1 else And(*conditions)
        found = self.client.search(
            self.cabinet,
            query,
            dialog=self._dialog,
            limit=self._limit,
            max_pages=KEY_SEARCH_PAGES,
            permits=self.permits,
        )
        async with self.permits:
            return [doc async for doc in found]

    @property
    def _limit(self) -> int | None:
        return {"first": 1, "fail": 2}.get(self.profile.on_multiple)

    @property
    def _dialog(self) -> str | None:
        return self.profile.dialog or None

    async def search_batch(self, tasks: list[RowTask]) -> dict[int, Found]:
        """Hits by row id for the rows one `Or` search can answer (see the module docstring)."""
        if len(self.profile.columns) != 1:
            return {}
        keys = _batch_keys({t.id: self._pairs(t)[0][1] for t in tasks})
        if len(set(keys.values())) < 2:
            return {}
        field = self._pairs(tasks[0])[0][0]
        by_key: dict[str, list[Document]] = {k.casefold(): [] for k in keys.values()}
        query = Or(*(Exact(field, key) for key in dict.fromkeys(keys.values())))
        found = self.client.search(
            self.cabinet,
            query,
            dialog=self._dialog,
            max_pages=KEY_SEARCH_PAGES,
            permits=self.permits,
        )
        try:
            async for doc in found:
                value = str(doc.id) if field == ID_FIELD else doc.fields.get(field)
                if not isinstance(value, str) or value.casefold() not in by_key:
                    return {}
                by_key[value.casefold()].append(doc)
        except Exception as exc:
            if isinstance(exc, RefusedAnswerError) or server_wide(exc):
                return dict.fromkeys(keys, exc)  # each row's own search would meet the same
            log.info("Batch search of %d rows failed (%s); searching row by row", len(keys), exc)
            return {}
        return {row: by_key[key.casefold()][: self._limit] for row, key in keys.items()}

    def _pairs(self, task: RowTask) -> list[tuple[str, str]]:
        by_header = {normalise_header(k): v for k, v in task.values.items()}
        return [
            (field, by_header.get(normalise_header(column), ""))
            for column, field in self.fields.items()
        ]

    def _blank_column(self, task: RowTask) -> str | None:
        """The first mapped column the row leaves empty, if any.

        Ingest fails such rows and retry leaves them failed, but rows set pending by an older
        retry (which reset every failed row) still arrive; searching for an empty value would
        answer a question the row never asked.
        """
        for column, (_field, value) in zip(self.fields, self._pairs(task), strict=True):
            if not str(value).strip():
                return column
        return None

    def _terms(self, task: RowTask) -> str:
        return " and ".join(f"{f} = {v!r}" for f, v in self._pairs(task))


def _db_name(dialog: Dialog, field: str, column: str) -> str:
    known = dialog.field(field) or (ID_INFO if field.upper() == ID_FIELD else None)
    if known is None:
        names = ", ".join(f.db_name for f in dialog.fields)
        raise ProfileError(
            f"Column {column!r} maps to the field {field!r}, which the search dialog "
            f"{dialog.name!r} does not have; its fields: {names}."
        )
    return known.db_name


def _batch_keys(values: dict[int, str]) -> dict[int, str]:
    """The rows whose value can share a batch: not blank, and no other value equal but for case."""
    spellings: dict[str, set[str]] = {}
    for value in values.values():
        spellings.setdefault(value.casefold(), set()).add(value)
    return {
        row: value
        for row, value in values.items()
        if value.strip() and len(spellings[value.casefold()]) == 1
    }


def choose(docs: list[Document], policy: OnMultiple) -> list[Document]:
    if policy == "first":
        return docs[:1]
    if policy == "newest":
        return [max(docs, key=_age)]
    return sorted(docs, key=lambda d: d.id) if policy == "all" else docs


def _age(doc: Document) -> tuple[str, int]:
    for name in NEWEST_FIELDS:
        value = doc.fields.get(name)
        if value is not None:
            return (value.isoformat() if hasattr(value, "isoformat") else str(value), doc.id)
    return ("", doc.id)


def _values(doc: Document, task: RowTask) -> Values:
    return Values(doc.fields, task.values, row=task.number, docid=doc.id)


def _sentence(task: RowTask, exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if text.startswith("Row ") else f"Row {task.number}: {text}"
