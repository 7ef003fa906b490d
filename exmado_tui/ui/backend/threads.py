"""Where the dashboard's blocking calls run: one thread for store reads, one for actions, two for
network probes, so no query, Redis command or DocuWare request ever runs on the event loop.

One long-lived reader thread (rather than a fresh thread per refresh) keeps one SQLite
connection open for the whole session; Peewee connections are per thread.

This is also where the store's own errors become `StoreUnavailableError` (by `db.store_error`'s
rule, shared with the CLI and the workers), so the screens can say "trying again" without
knowing which database library the store uses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import peewee

from exmado_tui.config.settings import Settings
from exmado_tui.errors import StoreUnavailableError
from exmado_tui.job.service import JobService
from exmado_tui.store.db import database, store_error, store_unreachable, utcnow

T = TypeVar("T")
Clock = Callable[[], datetime]
StoreFault = Callable[[Exception], StoreUnavailableError | None]


class Backend:
    """Runs blocking functions off the event loop and owns the job service."""

    def __init__(self, service: JobService, clock: Clock | None = None) -> None:
        self.service = service
        self.clock: Clock = clock or utcnow
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="exmado-read")
        self._actor = ThreadPoolExecutor(1, thread_name_prefix="exmado-act")
        self._prober = ThreadPoolExecutor(2, thread_name_prefix="exmado-probe")

    @property
    def settings(self) -> Settings:
        return self.service.settings

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A store query, on the reader thread; any store error raises `StoreUnavailableError`
        (shown, and read again next tick)."""
        return await self._run(self._reader, self._unreachable, fn, *args, **kwargs)

    async def act(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A change through the job service (store and Redis), on the actor thread; a store
        out of reach for a while (locked, restarting, the connection lost) raises
        `StoreUnavailableError`, any other refusal (a missing table, say) is raised as it is."""
        return await self._run(self._actor, self._passing, fn, *args, **kwargs)

    async def probe(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A network call that may hang for seconds (Redis, DocuWare), on a prober thread."""
        return await self._run(self._prober, None, fn, *args, **kwargs)

    def probe_nowait(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """A network call on a prober thread, not waited for (a logout on the way out)."""
        with contextlib.suppress(RuntimeError):  # the threads are already shut down
            self._prober.submit(fn, *args, **kwargs)

    async def _run(
        self,
        pool: ThreadPoolExecutor,
        store_fault: StoreFault | None,
        fn: Callable[..., T],
        *args: Any,
        **kwargs: Any,
    ) -> T:
        """`fn` on `pool`; `store_fault` turns a store error into `StoreUnavailableError`, or
        answers None to let it stand."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, lambda: fn(*args, **kwargs))
        except peewee.PeeweeException as exc:
            err = store_fault(exc) if store_fault is not None else None
            if err is None:
                raise
            raise err from exc

    def _passing(self, exc: Exception) -> StoreUnavailableError | None:
        return store_error(exc, self.settings.database_url)

    def _unreachable(self, exc: Exception) -> StoreUnavailableError:
        return store_unreachable(exc, self.settings.database_url)

    def close(self) -> None:
        """Close the store connections the threads opened, then the threads."""
        for pool in (self._reader, self._actor):
            # Closing on the way out must not raise.
            with contextlib.suppress(Exception):
                pool.submit(_close_connection).result(timeout=5)
            pool.shutdown(wait=False, cancel_futures=True)
        self._prober.shutdown(wait=False, cancel_futures=True)


def _close_connection() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()
