"""One worker process's side of the shared request budget: pacing and throttle signals.

`RequestBudget.take` hands out send times reserved in Redis a few at a time (one round trip
per `BATCH_S` of the rate, at most `BATCH_MAX`), first come first served,
so the jobs of a process share it fairly and each job's `row_concurrency` bounds what it
asks for. `held` sees a request DocuWare holds unanswered (it answers a throttled one only
after ~10 s): that is taken as a 429 at once, and the request lends its row slot
(`row_slot.SLOT`) to the rows behind it until it is answered, so a late 429 stalls nothing
but itself. The Redis side (scripts, keys, status) is `budget_store`; the per-minute limits
are `per_minute`, the lookups the workers share `lookups`, a job's throttling sentences
`throttle_watch`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from exmado_tui.docuware.budget_store import BETA, CUT, KEEP_S, PREFIX, TAKE, Grant, account_key
from exmado_tui.docuware.lookups import SharedLookups
from exmado_tui.docuware.per_minute import Kind, PerMinute
from exmado_tui.docuware.row_slot import SLOT, Slot
from exmado_tui.docuware.throttle_watch import WATCH, ThrottleWatch
from exmado_tui.settings import BrokerSettings, DocuWareSettings

log = logging.getLogger("exmado.docuware")
BATCH_S = 0.1  # this much of the rate is reserved by one round trip ...
BATCH_MAX = 64  # ... up to this many send times
MIN_SLEEP_S = 0.001  # a send time closer than this is now
MAX_AHEAD_MS = 300  # no reservation further ahead than this (a dead worker wastes no more)
STALE_S = 0.1  # reserved times missed by more than this are dropped, not sent in a burst
HELD_MIN_S = 0.5  # a request unanswered this long (and 6x the usual latency) counts as throttled
HELD_FACTOR = 6.0
FLOOR_PER_S = 0.5


@dataclass
class Limits:
    ceiling: float
    logons_per_min: int
    cabinet_lists_per_min: int

    @property
    def start(self) -> float:
        """Where an account never seen starts: a quarter of the ceiling, then it grows."""
        return self.ceiling / 4


@dataclass
class Ticket:
    """One request: when its send time was reserved (Redis ms), and when it went out."""

    reserved_ms: float
    sent: float = 0.0
    patience: float | None = None  # give up and send again after this long (None: never)
    abandoned: bool = False
    lent: bool = False
    slot: Slot | None = field(default=None, repr=False)
    watch: ThrottleWatch | None = field(default=None, repr=False)


class RequestBudget:
    """The process's share of one account's budget; made on the loop that uses it."""

    def __init__(self, redis: Any, account: str, label: str, limits: Limits) -> None:
        self.redis = redis
        self.key = PREFIX + account
        self.label = label
        self.limits = limits
        self._take = redis.register_script(TAKE)
        self._cut = redis.register_script(CUT)
        self.per_minute = PerMinute(
            redis, self.key, limits.logons_per_min, limits.cabinet_lists_per_min
        )
        self.lookups = SharedLookups(redis, self.key)
        self._times: deque[tuple[float, float]] = deque()  # (send at, reserved at in Redis ms)
        self._lock = asyncio.Lock()
        self._ok = 0
        self.rate = limits.start
        self._latency = 0.2
        self._flying: dict[int, Ticket] = {}
        self._watcher: asyncio.Task[None] | None = None

    async def take(self, kind: Kind = Kind.REQUEST, patience: float | None = None) -> Ticket:
        """Wait for this request's turn; the ticket goes back through `answered`."""
        await self.per_minute.wait(kind)
        async with self._lock:
            at, reserved = await self._next_time()
            if (delay := at - time.monotonic()) > MIN_SLEEP_S:
                await asyncio.sleep(delay)
        return self._fly(Ticket(reserved, patience=patience, slot=SLOT.get(), watch=WATCH.get()))

    async def _next_time(self) -> tuple[float, float]:
        now = time.monotonic()
        while self._times and self._times[0][0] < now - STALE_S:
            self._times.popleft()
        while not self._times:
            await self._reserve()
        return self._times.popleft()

    async def _reserve(self) -> None:
        want = max(1, min(math.ceil(self.rate * BATCH_S), BATCH_MAX))
        ok, self._ok = self._ok, 0
        args = [want, self.limits.ceiling, self.limits.start, ok, MAX_AHEAD_MS, self.label, KEEP_S]
        try:
            raw = await self._take(keys=[self.key], args=args)
        except RedisError as exc:  # Redis away for a moment: pace alone at the last rate
            log.warning("Request budget not reachable in Redis (%s); pacing alone", exc)
            raw = [want, 0, self.rate, time.time() * 1000, time.time() * 1000]
        granted, wait_ms, rate, start_ms, now_ms = raw
        grant = Grant(int(granted), float(wait_ms), float(rate), float(start_ms), float(now_ms))
        self.rate = grant.rate
        if not grant.granted:
            await asyncio.sleep(max(grant.wait_ms - MAX_AHEAD_MS / 2, 10) / 1000)
            return
        start = time.monotonic() + grant.wait_ms / 1000
        step = 1 / grant.rate
        self._times.extend((start + i * step, grant.now_ms) for i in range(grant.granted))

    async def aclose(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        await self.redis.aclose()

    # -- while the request is out -------------------------------------------------------

    def _fly(self, ticket: Ticket) -> Ticket:
        ticket.sent = time.monotonic()
        self._flying[id(ticket)] = ticket
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._watch())
        return ticket

    async def answered(self, ticket: Ticket, status: int, retry_after: float) -> None:
        """The server answered: count a success, or cut for a 429 and wait its Retry-After."""
        self._flying.pop(id(ticket), None)
        if status == 429:
            await self._signal(ticket, retry_after, throttled=True)
            await asyncio.sleep(retry_after)
        elif status < 500 and not ticket.lent:
            self._ok += 1
            self._latency += 0.1 * (time.monotonic() - ticket.sent - self._latency)
        await self._reclaim(ticket)

    @staticmethod
    async def _reclaim(ticket: Ticket) -> None:
        if ticket.lent and ticket.slot is not None:
            ticket.lent = False
            await ticket.slot.reclaim()

    async def abandoned(self, ticket: Ticket) -> None:
        """Held unanswered and given up (to be sent again): a throttle signal."""
        ticket.abandoned = True
        self._flying.pop(id(ticket), None)
        await self._signal(ticket, 0.0, throttled=False)

    async def failed(self, ticket: Ticket) -> None:
        """No answer at all (network): nothing to learn; the slot comes back."""
        self._flying.pop(id(ticket), None)
        await self._reclaim(ticket)

    @property
    def held_after(self) -> float:
        return max(HELD_MIN_S, HELD_FACTOR * self._latency)

    async def _watch(self) -> None:
        while self._flying:
            await asyncio.sleep(0.1)
            limit = time.monotonic() - self.held_after
            held = [t for t in self._flying.values() if t.sent < limit and t.patience is None]
            for ticket in [t for t in held if not t.lent]:
                ticket.lent = True
                if ticket.slot is not None:
                    ticket.slot.lend()
                await self._signal(ticket, 0.0, throttled=False)

    async def _signal(self, ticket: Ticket, retry_after: float, *, throttled: bool) -> None:
        args = [ticket.reserved_ms, int(retry_after * 1000), int(throttled), FLOOR_PER_S]
        try:
            raw = await self._cut(
                keys=[self.key, self.key + ":429"], args=[*args, uuid.uuid4().hex]
            )
        except RedisError as exc:
            log.warning("Request budget not reachable in Redis (%s); cutting alone", exc)
            raw = [1, max(FLOOR_PER_S, self.rate * BETA)]
        if ticket.watch is not None:
            ticket.watch.throttled(float(raw[1]))
        if int(raw[0]):
            self._times.clear()  # this process stops at once; the others at their next batch
            self.rate = float(raw[1])
            why = "throttled (429)" if throttled else f"no answer in {self.held_after:.1f} s"
            log.warning("DocuWare %s: shared budget cut to %.1f requests/s", why, self.rate)


def shared_budget(settings: DocuWareSettings, broker: BrokerSettings) -> RequestBudget | None:
    """The budget every worker shares for this server and account; None when turned off."""
    if settings.max_requests_per_s <= 0:
        return None
    from redis.asyncio import Redis

    client = Redis.from_url(
        broker.url, password=broker.password.reveal() or None, socket_connect_timeout=5
    )
    limits = Limits(
        settings.max_requests_per_s, settings.logons_per_min, settings.cabinet_lists_per_min
    )
    return RequestBudget(
        client, account_key(settings), f"{settings.url} as {settings.signer}", limits
    )
