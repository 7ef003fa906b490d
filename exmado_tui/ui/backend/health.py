"""Health facts for the header strip and the workers screen: Redis, queue, DocuWare.

Plain functions and dataclasses (no Textual): the screens run them on a prober thread.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from exmado_tui.commands.doctor import DOCUWARE_UNREACHABLE_FIX, Check, docuware_sign_in
from exmado_tui.config.settings import DocuWareSettings
from exmado_tui.docuware.budget_store import BudgetStatus
from exmado_tui.services.queue import REDIS_DOWN_FIX, JobQueue, QueueDepth
from exmado_tui.services.worker_facts import QueueFacts, read_queue_facts

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
        self.settings = dataclasses.replace(
            settings, timeout_s=min(settings.timeout_s, 5.0), max_attempts=1
        )
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
