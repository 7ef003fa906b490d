"""The dashboard's reach beyond the event loop, free of Textual (a test holds it to that).

`Backend`: where the dashboard's blocking calls run: one thread for store reads, one for
actions, two for network probes, so no query, Redis command or DocuWare request ever runs on
the event loop. One long-lived reader thread (rather than a fresh thread per refresh) keeps one
SQLite connection open for the whole session; Peewee connections are per thread. This is also
where the store's own errors become `StoreUnavailableError` (by `db.store_error`'s rule, shared
with the CLI and the workers), so the screens can say "trying again" without knowing which
database library the store uses: the one dashboard module that names it.

What those threads run beyond the store: the health facts of the header strip and the workers
screen (Redis, the queue, DocuWare: `check_redis`, `redis_info`, `DocuWareProbe`), and
`DocuWareLookup`, the cabinets, dialogs, fields and counts of the new-job forms.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import peewee

from exmado_tui.commands.doctor import DOCUWARE_UNREACHABLE_FIX, Check, docuware_sign_in
from exmado_tui.config.settings import DocuWareSettings, Settings
from exmado_tui.docuware.budget_store import BudgetStatus
from exmado_tui.errors import StoreUnavailableError
from exmado_tui.job.query_source import QuerySource, count_query
from exmado_tui.job.service import JobService
from exmado_tui.services.queue import REDIS_DOWN_FIX, JobQueue, QueueDepth
from exmado_tui.services.worker_facts import QueueFacts, read_queue_facts
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
        self._closed = False

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
        answers None to let it stand. After `close` it is cancelled: a refresh still running as
        the app quits (a worker failing on the closed threads failed the quit)."""
        if self._closed:
            raise asyncio.CancelledError
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
        self._closed = True
        for pool in (self._reader, self._actor):
            # Closing on the way out must not raise.
            with contextlib.suppress(Exception):
                pool.submit(_close_connection).result(timeout=5)
            pool.shutdown(wait=False, cancel_futures=True)
        self._prober.shutdown(wait=False, cancel_futures=True)


def _close_connection() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()


# -- health facts (the header strip, the workers screen) ------------------------------------

DOCUWARE_CACHE_S = 30.0
SIGN_IN_BOUND_S = 20.0  # a person waits on `k`: past this, say so rather than spin


@dataclass(frozen=True)
class RedisHealth:
    reachable: bool
    depth: QueueDepth | None = None
    error: str = ""
    budgets: tuple[BudgetStatus, ...] = ()  # the shared DocuWare request budgets
    facts: QueueFacts | None = None  # all of the above and the workers alive, as read


@dataclass(frozen=True)
class DocuWareHealth:
    reachable: bool | None  # None: not checked yet
    version: str = ""
    error: str = ""


def check_redis(queue: JobQueue) -> RedisHealth:
    """Ping Redis and read what `exmado workers` shows of it (`worker_facts`); never raises."""
    if not queue.ping():
        return RedisHealth(False, error=f"Cannot reach Redis at {queue.url}: {REDIS_DOWN_FIX}.")
    try:
        facts = read_queue_facts(queue)
        return RedisHealth(True, facts.depth, budgets=facts.budgets, facts=facts)
    except Exception as exc:
        return RedisHealth(False, error=str(exc))


def redis_info(queue: JobQueue) -> dict[str, Any]:
    """Redis version, memory and persistence, from INFO."""
    info = queue.broker.client.info()
    aof = "on" if info.get("aof_enabled") else "off"
    return {
        "version": info.get("redis_version", "?"),
        "memory": info.get("used_memory_human", "?"),
        "peak memory": info.get("used_memory_peak_human", "?"),
        "persistence": f"AOF {aof}, RDB {info.get('rdb_changes_since_last_save', '?')} unsaved",
        "clients": info.get("connected_clients", "?"),
        "uptime": f"{info.get('uptime_in_seconds', 0)} s",
    }


class DocuWareProbe:
    """A cheap, unauthenticated check of the DocuWare server, remembered for 30 seconds; and,
    asked for, a sign-in as `exmado doctor` does it, given up after `sign_in_bound_s`."""

    def __init__(
        self,
        settings: DocuWareSettings,
        cache_s: float = DOCUWARE_CACHE_S,
        sign_in_bound_s: float = SIGN_IN_BOUND_S,
    ) -> None:
        self.signing_in = settings
        self.settings = replace(settings, timeout_s=min(settings.timeout_s, 5.0), max_attempts=1)
        self.cache_s = cache_s
        self.sign_in_bound_s = sign_in_bound_s
        self._last: DocuWareHealth = DocuWareHealth(None)
        self._at = float("-inf")

    def check(self, force: bool = False) -> DocuWareHealth:
        if force or time.monotonic() - self._at >= self.cache_s:
            self._last = self._fetch()
            self._at = time.monotonic()
        return self._last

    def sign_in(self) -> Check:
        """Reach the server and sign in (then out): `exmado doctor`'s DocuWare line."""
        return docuware_sign_in(self.signing_in)

    def too_slow(self) -> Check:
        """What to say when `sign_in` gave no answer within `sign_in_bound_s`."""
        return Check(
            "DocuWare",
            False,
            f"{self.settings.url} gave no answer within {self.sign_in_bound_s:g} s",
            DOCUWARE_UNREACHABLE_FIX,
        )

    def _fetch(self) -> DocuWareHealth:
        from exmado_tui.docuware.errors import DocuWareError, RetryPolicy
        from exmado_tui.docuware.session import DocuWareSession

        try:
            with DocuWareSession(self.settings, retry=RetryPolicy(max_attempts=1)) as session:
                return DocuWareHealth(True, session.service_description().version)
        except DocuWareError as exc:
            return DocuWareHealth(False, error=str(exc))
        except Exception as exc:
            return DocuWareHealth(False, error=f"{type(exc).__name__}: {exc}")


# -- the new-job forms' DocuWare look-ups ---------------------------------------------------

Options = list[tuple[str, str]]
INTERACTIVE_TIMEOUT_S = 10.0


class DocuWareLookup:
    """One signed-in session, opened on first use and kept for the form's lifetime."""

    def __init__(self, settings: DocuWareSettings) -> None:
        self.settings = settings
        self._session: Any = None

    @property
    def session(self) -> Any:
        if self._session is None:
            from exmado_tui.docuware.session import DocuWareSession

            # A person waits at the form: two tries and a 10 s limit, not a worker's patience.
            patient = replace(
                self.settings,
                max_attempts=2,
                timeout_s=min(self.settings.timeout_s, INTERACTIVE_TIMEOUT_S),
            )
            self._session = DocuWareSession(patient)
        return self._session

    def cabinets(self) -> Options:
        return [(c.name, c.name) for c in self.session.file_cabinets()]

    def dialogs(self, cabinet: str) -> Options:
        return [
            (d.name + (" (default)" if d.is_default else ""), d.id)
            for d in self.session.search_dialogs(cabinet)
            if d.type.lower() in ("search", "")
        ]

    def fields(self, cabinet: str, dialog: str = "") -> Options:
        found = self.session.dialog(cabinet, dialog or None).fields
        return [(f"{f.label} ({f.db_name})", f.db_name) for f in found]

    def count(self, source: QuerySource) -> int:
        """DocuWare's count of the query's documents (ValueError: a field or value refused)."""
        return count_query(self.session, source)

    def explain(self, exc: BaseException) -> str:
        """The error's own sentence, naming the server when it does not already; a refused
        sign-in's advice is for this dashboard, not the workers' (restart them, retry)."""
        from exmado_tui.docuware.auth import by_hand_sentence
        from exmado_tui.docuware.errors import AuthenticationError

        text = str(exc)
        if isinstance(exc, AuthenticationError):
            text = by_hand_sentence(exc, self.settings, again="start the dashboard again")
        return text if self.settings.url in text else f"DocuWare at {self.settings.url}: {text}"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
