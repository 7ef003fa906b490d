"""One row on the event loop: search DocuWare, choose among the hits, place the files.

`on_multiple`: `all` takes every hit, `first` the first the server lists, `newest` the one
with the latest DWSTOREDATETIME (else the highest document id), `fail` marks the row
`ambiguous`. No hit → `not_found`. A transient failure (network, throttling, 5xx after the
client's own retries) comes back marked `retryable` so the runner can try the row again later.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from dataclasses import dataclass, field
from typing import Any

from exmado_tui.docuware.query import And, Exact
from exmado_tui.errors import PermanentError, RetryableError
from exmado_tui.excel import normalise_header
from exmado_tui.profiles import Profile
from exmado_tui.templates import Values
from workers.pipeline.files import FileRecord, Placer

log = logging.getLogger("exmado.pipeline")
NEWEST_FIELDS = ("DWSTOREDATETIME", "DWMODDATETIME")


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
    status: str
    error: str = ""
    documents: int = 0
    files: list[FileRecord] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)
    retryable: bool = False


class RowEngine:
    """Runs rows with `concurrency` in flight; results go to a thread-safe queue."""

    def __init__(
        self, client: Any, profile: Profile, placer: Placer, results: queue.Queue, concurrency: int
    ) -> None:
        self.client = client
        self.profile = profile
        self.placer = placer
        self.results = results
        self.concurrency = concurrency
        self.cabinet: Any = profile.cabinet

    async def prepare(self) -> None:
        """Resolve cabinet and dialog once: what fails here fails the job, not each row."""
        self.cabinet = await self.client.find_cabinet(self.profile.cabinet)
        await self.client.dialog(self.cabinet, self.profile.dialog or None)

    async def serve(self, inbox: asyncio.Queue) -> None:
        workers = [asyncio.create_task(self._worker(inbox)) for _ in range(self.concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()

    async def _worker(self, inbox: asyncio.Queue) -> None:
        while (task := await inbox.get()) is not None:
            self.results.put(await self.process(task))

    async def process(self, task: RowTask) -> RowResult:
        try:
            return await self._process(task)
        except RetryableError as exc:
            return RowResult(task, "failed", _sentence(task, exc), retryable=True)
        except PermanentError as exc:
            return RowResult(task, "failed", _sentence(task, exc))
        except Exception as exc:  # noqa: BLE001 - one odd row must not stop the job
            log.exception("Row %d failed unexpectedly", task.number)
            return RowResult(task, "failed", f"Row {task.number}: {type(exc).__name__}: {exc}")

    async def _process(self, task: RowTask) -> RowResult:
        docs = await self._search(task)
        if not docs:
            return RowResult(task, "not_found", f"No document matches {self._terms(task)}.")
        if len(docs) > 1 and self.profile.on_multiple == "fail":
            return RowResult(
                task,
                "ambiguous",
                f"{len(docs)} documents match {self._terms(task)} and on_multiple = fail.",
            )
        chosen = choose(docs, self.profile.on_multiple)
        result = RowResult(task, "done", documents=len(chosen))
        for doc in chosen:
            placed = await self.placer.place(doc, _values(doc, task))
            result.files += placed.records
            result.events += placed.events
        return result

    async def _search(self, task: RowTask) -> list[Any]:
        conditions = [Exact(field, value) for field, value in self._pairs(task)]
        query = conditions[0] if len(conditions) == 1 else And(*conditions)
        limit = {"first": 1, "fail": 2}.get(self.profile.on_multiple)
        dialog = self.profile.dialog or None
        found = self.client.search(self.cabinet, query, dialog=dialog, limit=limit)
        return [doc async for doc in found]

    def _pairs(self, task: RowTask) -> list[tuple[str, str]]:
        by_header = {normalise_header(k): v for k, v in task.values.items()}
        return [
            (field, by_header.get(normalise_header(column), ""))
            for column, field in self.profile.columns.items()
        ]

    def _terms(self, task: RowTask) -> str:
        return " and ".join(f"{f} = {v!r}" for f, v in self._pairs(task))


def choose(docs: list[Any], policy: str) -> list[Any]:
    if policy == "first":
        return docs[:1]
    if policy == "newest":
        return [max(docs, key=_age)]
    return sorted(docs, key=lambda d: d.id) if policy == "all" else docs


def _age(doc: Any) -> tuple[str, int]:
    for name in NEWEST_FIELDS:
        value = doc.fields.get(name)
        if value is not None:
            return (value.isoformat() if hasattr(value, "isoformat") else str(value), doc.id)
    return ("", doc.id)


def _values(doc: Any, task: RowTask) -> Values:
    return Values(doc.fields, task.values, row=task.number, docid=doc.id)


def _sentence(task: RowTask, exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if text.startswith("Row ") else f"Row {task.number}: {text}"
