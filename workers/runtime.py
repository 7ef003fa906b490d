"""What one worker process shares between its jobs: settings, Redis, slots, its event loop and
its DocuWare client.

The loop (`LoopThread`, `process_loop`): actors run in Dramatiq's worker threads and stay
synchronous (they own the job store); the HTTP side of every job runs on one asyncio loop per
process, in a daemon thread, so one DocuWare client — one login, one connection pool, one
throttle gate — serves every job the process holds.

The client is seen through `DocuWarePort`: what the pipeline needs of DocuWare, and nothing
more. A row's search and download carry its job's `RowPermits` (`permits`): the request budget
lends a held request's permit to the rows behind it and tells the job's throttle watch.
`AsyncDocuWareClient` is the one real implementation; the pipeline tests' fake and the
contract suite (tests/integration/test_docuware_contract.py) keep to the same shape.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, TypeVarTuple

import redis

from exmado_tui.config.settings import Settings
from exmado_tui.docuware.budget import RowPermits
from exmado_tui.docuware.models import Dialog, Document, DownloadResult, FieldInfo, FileCabinet
from exmado_tui.docuware.query import Query
from exmado_tui.job.liveness import Clocks
from exmado_tui.job.liveness.hold import JobSlots
from exmado_tui.services.queue import JobQueue, make_broker, redis_client

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self, name: str = "exmado-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self.submit(coro).result(timeout)

    def call(self, fn: Callable[[*Ts], object], *args: *Ts) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


_lock = threading.Lock()
_loops: dict[int, LoopThread] = {}


def process_loop() -> LoopThread:
    """This process's loop (a forked child gets its own)."""
    with _lock:
        pid = os.getpid()
        if pid not in _loops:
            _loops[pid] = LoopThread()
        return _loops[pid]


class DocuWarePort(Protocol):
    async def find_cabinet(self, name_or_id: FileCabinet | str) -> FileCabinet: ...

    async def dialog(self, cabinet: FileCabinet | str, dialog_id: str | None = None) -> Dialog: ...

    async def cabinet_fields(self, cabinet: FileCabinet | str) -> list[FieldInfo]: ...

    def search(
        self,
        cabinet: FileCabinet | str,
        query: Query = None,
        *,
        dialog: str | None = None,
        sort: Iterable[str | tuple[str, str]] | None = None,
        page_size: int = 1000,
        limit: int | None = None,
        max_pages: int | None = None,
        permits: RowPermits | None = None,
    ) -> AsyncIterator[Document]: ...

    async def download(
        self,
        document: Document,
        dest: Path,
        *,
        target: str = "Auto",
        keep_annotations: bool = False,
        fsync: bool = True,
        max_mb: float | None = None,
        permits: RowPermits | None = None,
    ) -> DownloadResult: ...

    async def aclose(self) -> None: ...


ClientFactory = Callable[[Settings], DocuWarePort]


def docuware_client(settings: Settings) -> DocuWarePort:
    from exmado_tui.docuware.budget import process_budget
    from exmado_tui.docuware.client import AsyncDocuWareClient

    budget = process_budget(settings.docuware, settings.broker)
    return AsyncDocuWareClient(settings.docuware, budget=budget)


@dataclass
class Runtime:
    """Per-process services; the DocuWare client is made on the loop at first use."""

    settings: Settings
    redis: redis.Redis
    slots: JobSlots
    queue: JobQueue
    client_factory: ClientFactory = docuware_client
    _client: DocuWarePort | None = field(default=None, repr=False)
    _client_pid: int = 0
    _lock: asyncio.Lock | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Runtime:
        client = redis_client(settings.broker)
        lease_ttl_s = Clocks.of(settings.jobs).lease_ttl_s
        slots = JobSlots(client, settings.jobs.max_concurrent_jobs, lease_ttl_s)
        queue = JobQueue(make_broker(settings.broker), settings.broker.url)
        return cls(settings, client, slots, queue, **options)

    @property
    def clocks(self) -> Clocks:
        return Clocks.of(self.settings.jobs)

    @property
    def worker_id(self) -> str:
        """host:pid of this process, as jobs and the worker registry show it."""
        return f"{self.settings.host}:{os.getpid()}"

    @property
    def loop(self) -> LoopThread:
        return process_loop()

    async def client(self) -> DocuWarePort:
        """The process's one DocuWare client (must be awaited on the process loop)."""
        if self._client_pid != os.getpid():
            self._client, self._client_pid, self._lock = None, os.getpid(), asyncio.Lock()
        assert self._lock is not None
        async with self._lock:
            if self._client is None:
                self._client = self.client_factory(self.settings)
        return self._client

    def close_client(self) -> None:
        if self._client is not None and self._client_pid == os.getpid():
            self.loop.run(self._client.aclose(), timeout=10)
            self._client = None
