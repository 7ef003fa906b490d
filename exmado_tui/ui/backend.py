"""Where the dashboard's blocking calls run: one thread for store reads, one for actions, two for
network probes, so no query, Redis command or DocuWare request ever runs on the event loop.

One long-lived reader thread (rather than a fresh thread per refresh) keeps one SQLite
connection open for the whole session; Peewee connections are per thread.

This is also the one place where the store's own errors become `StoreUnavailableError`, so the
screens can say "trying again" without knowing which database library the store uses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import peewee

from exmado_tui.db import database, utcnow
from exmado_tui.errors import StoreUnavailableError
from exmado_tui.jobs import JobService
from exmado_tui.settings import mask_url

T = TypeVar("T")
Clock = Callable[[], datetime]

# What the store raises when it cannot answer an action just now: locked, restarting, the
# connection lost. A read treats any store error so (a screen shows it and reads again next
# tick); an action's integrity or data error stays what it is, the action's refusal.
OUT_OF_REACH: tuple[type[Exception], ...] = (peewee.OperationalError, peewee.InterfaceError)
ANY_STORE_ERROR: tuple[type[Exception], ...] = (peewee.PeeweeException,)


class Backend:
    """Runs blocking functions off the event loop and owns the job service."""

    def __init__(self, service: JobService, clock: Clock | None = None) -> None:
        self.service = service
        self.clock: Clock = clock or utcnow
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="exmado-read")
        self._actor = ThreadPoolExecutor(1, thread_name_prefix="exmado-act")
        self._prober = ThreadPoolExecutor(2, thread_name_prefix="exmado-probe")

    @property
    def settings(self) -> Any:
        return self.service.settings

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A store query, on the reader thread; a store that does not answer raises
        `StoreUnavailableError`."""
        return await self._run(self._reader, ANY_STORE_ERROR, fn, *args, **kwargs)

    async def act(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A change through the job service (store and Redis), on the actor thread; a store
        out of reach raises `StoreUnavailableError`, any other refusal is raised as it is."""
        return await self._run(self._actor, OUT_OF_REACH, fn, *args, **kwargs)

    async def probe(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A network call that may hang for seconds (Redis, DocuWare), on a prober thread."""
        return await self._run(self._prober, (), fn, *args, **kwargs)

    def probe_nowait(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """A network call on a prober thread, not waited for (a logout on the way out)."""
        with contextlib.suppress(RuntimeError):  # the threads are already shut down
            self._prober.submit(fn, *args, **kwargs)

    async def _run(
        self,
        pool: ThreadPoolExecutor,
        store_errors: tuple[type[Exception], ...],
        fn: Callable[..., T],
        *args: Any,
        **kwargs: Any,
    ) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, lambda: fn(*args, **kwargs))
        except store_errors as exc:
            raise self.store_unavailable(exc) from exc

    def store_unavailable(self, exc: Exception) -> StoreUnavailableError:
        """One sentence naming the store (password masked) and what the database said."""
        lines = str(exc).strip().splitlines()
        reason = lines[0].strip().rstrip(".") if lines else type(exc).__name__
        store = mask_url(self.settings.database_url)
        return StoreUnavailableError(
            f"The job store {store} cannot be reached just now: {reason}.",
            reason=reason,
            store=store,
        )

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
