"""A worker process's side of the shared request budget: pacing, and the throttle signals it
reads from how requests are answered.

Every request of the DocuWare client waits its turn at a `Budget` and reports back how it was
answered; there is one such path. `RequestBudget` is the budget every worker on every host
shares through Redis, which learns the server's speed (`budget_store` says how);
`LocalBudget`, used without Redis (`exmado docuware …`, the dashboard's probes) or with
`[docuware] shared_budget = false`, only makes every request of the process wait out a 429.

`RequestBudget.take` hands out send times reserved in Redis a few at a time (one round trip
per `BATCH_S` of the rate, at most `BATCH_MAX`, the next asked while the last are still ahead),
first come first served, so the jobs of a process share it fairly and each job's
`row_concurrency` bounds what it asks for. `held` sees a request DocuWare holds unanswered
(it answers a throttled one only after ~10 s): that is taken as a 429 at once, and the request
lends its row's permit (the job's `RowPermits`, which each request of a row carries through the
client to `take`) to the rows behind it until it is answered, so a late 429 stalls nothing but
itself. A request cancelled while out (its row or job stopped) is no longer out (`cancelled`):
left so, it was taken for held, and ended the slow start with a cut. The Redis side (scripts,
keys, status, the per-minute limits, the lookups the workers share) is `budget_store`.

A job's `RowPermits` hold its `ThrottleWatch` (`errors`): the request budget reports each
throttle signal of a request to the watch of the job whose row sent it, for its event log, and
whether DocuWare answered it at all: a request held during an outage cuts the rate as one held
by throttling does, but the job's events do not call it throttling.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from redis.exceptions import RedisError

from exmado_tui.config.settings import BrokerSettings, DocuWareSettings
from exmado_tui.docuware.budget_store import (
    ANSWERED,
    ANSWERS,
    BATCH_S,
    BETA,
    CUT,
    CUTS,
    KEEP_S,
    PREFIX,
    SENDS,
    START,
    TAKE,
    UNDO,
    Kind,
    PerMinute,
    SharedLookups,
    account_key,
)
from exmado_tui.docuware.errors import Clock, Sleep, ThrottleGate, ThrottleWatch

log = logging.getLogger("exmado.docuware")
BATCH_MAX = 64  # send times reserved by one round trip at most (and `BATCH_S` of the rate)
MIN_SLEEP_S = 0.001  # a send time closer than this is now
MAX_AHEAD_MS = 300  # no reservation further ahead than this (a dead worker wastes no more)
STALE_S = 0.1  # reserved times missed by more than this are dropped, not sent in a burst
REFILL_LEAD_S = 0.05  # the next times are reserved while the last are this far ahead
HELD_MIN_S = 0.5  # a request unanswered this long (and 6x the usual latency) counts as throttled
HELD_FACTOR = 6.0
STALLED_MIN_S = 0.15  # unanswered this long (and 3x the usual latency): growth stops a while
STALLED_FACTOR = 3.0
IN_FLIGHT_MIN = 1  # slow start: at most this many requests out (not yet found stalled) ...
IN_FLIGHT_FACTOR = 2.0  # ... or this many times what the process's answer rate and latency hold
ANSWERS_SPAN_S = 0.5  # the process's answer rate: its successes in this last while, ...
RECENT_LATENCIES = 3.0  # ... or in this many answer times, if faster ...
RECENT_MIN = 4  # ... and they hold this many successes at least
IN_FLIGHT_WAIT_S = 0.05  # a process waiting for room looks again this often at least
LISTEN_S = 1.0  # the listener for cuts waits this long for one at a time
WATCH_S = 0.05  # how often requests in flight are looked at for being slow or held
REPORT_S = 0.05  # successes are reported this often at most, between reservations too
FLOOR_PER_S = 0.5  # no cut goes lower than this (nor than the rate already is) ...
# ... and only a 429 below START: a held answer may be a slow one (a large search, a
# conversion), and a server whose every tenth answer is slow would otherwise be driven down
# cut by cut to the floor, as random loss drives TCP.


Slot = tuple[float, float, float]  # a send time: when (monotonic), reserved at (Redis ms), window


class RowPermits:
    """One job's permits to send, one a row in flight, and its throttle watch; every request
    of its rows carries them (`take(permits=...)`).

    A request DocuWare holds unanswered lends its row's permit to the rows behind it until it
    is answered (`lend`, `reclaim`); its throttle signals go to the job's `watch`.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.watch = ThrottleWatch()  # the job's slowdowns, for its event log
        self._free = asyncio.Semaphore(count)
        self._forgone = 0  # permits lent and not taken back: that many exits give none back

    async def __aenter__(self) -> None:
        await self._free.acquire()

    async def __aexit__(self, *exc: object) -> None:
        if self._forgone:
            self._forgone -= 1
        else:
            self._free.release()

    def lend(self) -> None:
        self._free.release()

    async def reclaim(self) -> None:
        await self._free.acquire()

    def forgo(self) -> None:
        """A permit lent by a request cancelled before it took it back: the row's exit gives
        none back, or one row more than `count` would run."""
        self._forgone += 1


class Signal(Enum):
    """What a request told of the server's load, besides its success."""

    THROTTLED = "429"  # answered 429
    HELD = "held"  # unanswered well past the usual answer time: DocuWare holds it
    STALLED = "stalled"  # slow to be answered: held, perhaps

    @property
    def why(self) -> str:
        return {"429": "throttled (429)", "held": "held a request", "stalled": "was slow"}[
            self.value
        ]


@dataclass
class Limits:
    cap: float  # `max_requests_per_s`: 0, no cap (the rate is learned)
    logons_per_min: int
    cabinet_lists_per_min: int


@dataclass(frozen=True)
class Grant:
    """A `TAKE` answer: `granted` send times from `start_ms` at `rate`, or wait `wait_ms`.

    `now_ms`: when it was reserved (Redis time); a throttle signal of a request reserved
    before the last cut says nothing new. `sent`: send times granted in the second before.
    `peak`: what the server let through at the last cut (0: none yet, the slow start).
    """

    granted: int
    wait_ms: float
    rate: float
    start_ms: float
    now_ms: float
    sent: float
    peak: float = 0.0


@dataclass
class Ticket:
    """One request: when its send time was reserved (Redis ms) and how many were sent in the
    second before (what the server's window held, should it refuse this one), and when it
    went out."""

    reserved_ms: float
    window: float = 0.0
    sent: float = 0.0
    kind: Kind = Kind.REQUEST
    counted: bool = True  # against the account (sent with its credentials)
    patience: float | None = None  # give up and send again after this long (None: never)
    abandoned: bool = False
    stalled: bool = False
    lent: bool = False
    cut: str | bytes = ""  # the slow start's end its slowness made, undone if answered
    answered: bool = False  # DocuWare answered it, not with a 429: slow, if found so, not held
    permits: RowPermits | None = field(default=None, repr=False)  # None: not a row's request


class Budget(Protocol):
    """What the client needs of a budget: a turn per request, and how it was answered."""

    @property
    def lookups(self) -> SharedLookups | None:
        """The cabinet and dialog lookups the workers share (None: not shared)."""

    async def take(
        self,
        kind: Kind = Kind.REQUEST,
        patience: float | None = None,
        permits: RowPermits | None = None,
        counted: bool = True,
    ) -> Ticket:
        """Wait for this request's turn (a row's: `permits`); the ticket comes back through
        one of the below. `counted`: DocuWare counts it against the account (it carries the
        account's credentials; discovery and the sign-in itself do not)."""

    def patience(self, held: int) -> float | None:
        """How long to wait for an answer before sending again (None: for ever), after
        `held` earlier attempts of this request were held unanswered."""

    async def answered(self, ticket: Ticket, status: int, retry_after: float) -> None: ...

    async def abandoned(self, ticket: Ticket) -> None: ...

    async def failed(self, ticket: Ticket) -> None: ...

    def cancelled(self, ticket: Ticket) -> None:
        """The request was cancelled before its answer (its row or job stopped)."""

    async def aclose(self) -> None: ...


class LocalBudget:
    """One process alone: every request waits out a 429's Retry-After; nothing is learned."""

    lookups: SharedLookups | None = None

    def __init__(self, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.gate = ThrottleGate(clock, sleep)

    async def take(
        self,
        kind: Kind = Kind.REQUEST,
        patience: float | None = None,
        permits: RowPermits | None = None,
        counted: bool = True,
    ) -> Ticket:
        await self.gate.wait()
        return Ticket(0.0, kind=kind)

    def patience(self, held: int) -> float | None:
        return None

    async def answered(self, ticket: Ticket, status: int, retry_after: float) -> None:
        if status == 429:
            log.warning("DocuWare throttled (429); all requests wait %.1f s", retry_after)
            self.gate.close_for(retry_after)

    async def abandoned(self, ticket: Ticket) -> None:
        return None

    async def failed(self, ticket: Ticket) -> None:
        return None

    def cancelled(self, ticket: Ticket) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RequestBudget:
    """The process's share of one account's budget; made on the loop that uses it."""

    def __init__(self, redis: Any, account: str, label: str, limits: Limits) -> None:
        self.redis = redis
        self.key = PREFIX + account
        self.label = label
        self.limits = limits
        self._take = redis.register_script(TAKE)
        self._take_keys = [self.key, self.key + SENDS, self.key + ANSWERS]
        self._cut = redis.register_script(CUT)
        self._answered = redis.register_script(ANSWERED)
        self._undo = redis.register_script(UNDO)
        self._reported = 0.0  # when successes were last reported (monotonic)
        self.per_minute = PerMinute(
            redis, self.key, limits.logons_per_min, limits.cabinet_lists_per_min
        )
        self.lookups = SharedLookups(redis, self.key)
        self._times: deque[Slot] = deque()  # send at, reserved_ms, window
        # Requests waiting their turn, first come first served, and the task handing them out
        self._waiting: deque[tuple[Ticket, asyncio.Future[Ticket]]] = deque()
        self._turns: asyncio.Task[None] | None = None
        self._refill: asyncio.Task[None] | None = None  # send times being reserved
        self._reporting: asyncio.Task[None] | None = None  # successes being reported
        self._ok = 0
        self._through = 0  # of the successes, those counted against the account
        # Send times not in the server's window (used without credentials, or dropped
        # unsent): they leave the send log with the next reservation (`budget_store`'s TAKE)
        self._unsent = 0
        self.rate = START
        self._latency = 0.0  # the usual answer time (0: none seen yet)
        self._flying: dict[int, Ticket] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._cut_ms = 0.0  # when the last cut this process heard of was made (Redis ms)
        self._granted_ms = 0.0  # when its last reservation was granted (Redis ms)
        self._starting = False  # the budget's slow start: no cut yet (from the last grant)
        self._acks: deque[float] = deque()  # when its successes of the last `ANSWERS_SPAN_S` came
        self._freed = asyncio.Event()  # a request out was answered or found stalled

    async def take(
        self,
        kind: Kind = Kind.REQUEST,
        patience: float | None = None,
        permits: RowPermits | None = None,
        counted: bool = True,
    ) -> Ticket:
        """Wait for this request's turn (a row's: `permits`); the ticket goes back through
        `answered`."""
        await self.per_minute.wait(kind)
        if not counted:
            await self.per_minute.wait_uncounted(max(self.rate, FLOOR_PER_S))
        loop = asyncio.get_running_loop()
        if self._listener is None:
            self._listener = loop.create_task(self._hear_cuts())
        ticket = Ticket(0.0, kind=kind, patience=patience, permits=permits, counted=counted)
        if not self._waiting and (slot := self._due_now()) is not None:
            return self._fly(ticket, slot)
        turn: asyncio.Future[Ticket] = loop.create_future()
        self._waiting.append((ticket, turn))
        if self._turns is None or self._turns.done():
            self._turns = loop.create_task(self._hand_out_turns())
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # its turn came as it was cancelled
                self.cancelled(turn.result())
            raise

    def _due_now(self) -> Slot | None:
        """A send time reserved and due, when the slow start's room allows one more out."""
        if self._no_room():
            return None
        now = time.monotonic()
        self._drop_stale(now)
        if self._times and self._times[0][0] - now <= MIN_SLEEP_S:
            return self._pop_time()
        return None

    async def _hand_out_turns(self) -> None:
        """The waiting requests' send times, first come first served, handed out by this one
        task: a turn due now goes in the same pass of the loop as the one before it. (Each
        request waited for an `asyncio.Lock` before, and one passed from waiter to waiter costs
        a pass of the loop each: one process not throttled, 20 ms latency, its takes waited
        20-27 ms each for the lock, 0.6-1.8 ms for their send time; handed out so, with the
        next times reserved ahead, a take waits 1.1-1.4 ms in all.) A cut while a time is
        waited for drops it, so the requests waiting take times at the new rate (measured: each
        waiting for its own time apart sent more 429s at 100/s, no faster)."""
        try:
            while self._first_waiting():
                await self._wait_for_room()
                slot = await self._next_time()
                if (delay := slot[0] - time.monotonic()) > MIN_SLEEP_S:
                    await asyncio.sleep(delay)
                if slot[1] <= self._cut_ms:  # cut while it waited: a time at the old rate
                    continue
                if not self._first_waiting():
                    self._times.appendleft(slot)
                    return
                ticket, turn = self._waiting.popleft()
                turn.set_result(self._fly(ticket, slot))
        except BaseException as exc:  # the requests waiting end with it, not wait for ever
            for _, turn in self._waiting:
                if isinstance(exc, asyncio.CancelledError):
                    turn.cancel()
                elif not turn.done():
                    turn.set_exception(exc)
            self._waiting.clear()
            raise

    def _first_waiting(self) -> bool:
        """Whether a request waits its turn (those given up while they waited leave)."""
        while self._waiting and self._waiting[0][1].done():
            self._waiting.popleft()
        return bool(self._waiting)

    def _no_room(self) -> bool:
        return bool(self._starting and self._latency and self._out() >= self._room())

    async def _wait_for_room(self) -> None:
        """During the slow start, no request goes while the process has more out than its rate
        of answers and latency hold (Little's law, `IN_FLIGHT_FACTOR` times over), until
        answers come or the ones out are found stalled, which cuts the rate.

        The slow start's doubling fills DocuWare's one-second window only once the rate is well
        past its limit, and every request sent from then until a held one is found stalled
        (`stalled_after`, three answer times) is refused: most of a first job's 429s, more the
        slower DocuWare answers. Held requests fill the room in about one answer time, and
        sending stops, as the missing ACKs stop TCP's; a slow answer only costs a pause, not a
        cut (measured, 20/s, four processes, 100 ms latency: the slow start's 429s 16-21 a run
        before, 10-13 after; `bench_throttle` has the rest). A server that never throttles
        keeps the budget in its slow start, and so the room, for good: Little's law keeps the
        requests out at half of it on average, so it only stops bursts; the wait ends at the
        answer that makes room (a 10 ms poll cut a cold start with no latency by 40 %). The
        room reads the answers, not the sends, as TCP is clocked by its ACKs: requests held
        stop the answers, and the room shrinks with them, where the sends went on at the
        doubled rate and held it open (measured, 20/s, four processes, 100 ms latency, cold
        first jobs of 100 rows: 429s 11-15 a job, median 13, read from the sends; 8-9 from the
        answers).
        """
        while self._no_room():
            self._freed.clear()  # set as a request leaves `_flying` or is found stalled
            with contextlib.suppress(TimeoutError):  # not wait_for: 3.11's can eat a cancel
                async with asyncio.timeout(IN_FLIGHT_WAIT_S):
                    await self._freed.wait()

    def _out(self) -> int:
        return sum(not ticket.stalled for ticket in self._flying.values())

    def _room(self) -> float:
        """What the process's answer rate and latency hold, `IN_FLIGHT_FACTOR` times over."""
        now = time.monotonic()
        while self._acks and self._acks[0] < now - ANSWERS_SPAN_S:
            self._acks.popleft()
        return max(IN_FLIGHT_MIN, IN_FLIGHT_FACTOR * self._answer_rate(now) * self._latency)

    def _answer_rate(self, now: float) -> float:
        """The process's successes over the time since the first of the last `ANSWERS_SPAN_S`
        (one answer time at least), not over the whole span: a job starting after an idle spell
        read as a trickle for half a second, and its room opened from its minimum at a crawl
        (measured with sends, 50 ms latency, a server that does not throttle: 3.6 ms of waiting
        a request, 90 % of it in the job's first 1.5 s; 2.2-2.7 ms after). Or over the last
        `RECENT_LATENCIES` answer times, when that is faster and holds `RECENT_MIN` successes:
        the job's first requests, its lookups one after another, held its room near two for
        half a second (0.55 s to a room of 15 at 50 ms latency). Not with fewer: one answer just
        come would read as a rate of one an answer time, a room of two, where a process
        answered less keeps the room of one (`IN_FLIGHT_MIN`)."""
        if not self._acks:
            return 0.0
        rate = len(self._acks) / max(now - self._acks[0], self._latency)
        recent_span = RECENT_LATENCIES * self._latency
        recent = len(self._acks) - bisect.bisect_left(self._acks, now - recent_span)
        if recent >= RECENT_MIN:
            rate = max(rate, recent / recent_span)
        return rate

    async def _next_time(self) -> Slot:
        self._drop_stale(time.monotonic())
        while not self._times:
            await self._reserving()
        return self._pop_time()

    def _pop_time(self) -> Slot:
        """The first send time in stock; the next are asked for if the stock runs low."""
        slot = self._times.popleft()
        self._stock_up()
        return slot

    def _stock_up(self) -> None:
        """The next send times are reserved in the background while the last ones are still
        `REFILL_LEAD_S` ahead, so no request waits out the round trip: on a busy loop it took
        24 ms, and every request waiting its turn waited with it (measured, one process not
        throttled, 20 ms latency: 44 reservations in a 10 s job, 11 ms a request's turn)."""
        if not self._times or self._times[-1][0] < time.monotonic() + REFILL_LEAD_S:
            self._reserving()

    def _reserving(self) -> asyncio.Task[None]:
        """The reservation under way, begun if none is."""
        if self._refill is None or self._refill.done():
            self._refill = asyncio.get_running_loop().create_task(self._reserve())
        return self._refill

    def _drop_stale(self, now: float) -> None:
        while self._times and self._times[0][0] < now - STALE_S:
            self._times.popleft()
            self._unsent += 1

    async def _reserve(self) -> None:
        want = max(1, min(math.ceil(self.rate * BATCH_S), BATCH_MAX))
        ok, through = self._take_successes()
        unsent, self._unsent = self._unsent, 0
        args = [want, self.limits.cap, ok, MAX_AHEAD_MS, self.label, KEEP_S, unsent, through]
        try:
            raw = await self._take(keys=self._take_keys, args=args)
        except RedisError as exc:  # Redis away for a moment: pace alone at the last rate
            log.warning("Request budget not reachable in Redis (%s); pacing alone", exc)
            raw = [want, 0, self.rate, time.time() * 1000, time.time() * 1000, 0, self.rate]
        grant = Grant(int(raw[0]), *(float(figure) for figure in raw[1:7]))
        if grant.now_ms <= self._cut_ms:  # cut while it was asked: times at the old rate
            return
        self.rate, self._granted_ms = grant.rate, grant.now_ms
        self._starting = not grant.peak
        if not grant.granted:
            await asyncio.sleep(max(grant.wait_ms - MAX_AHEAD_MS / 2, 10) / 1000)
            return
        start = time.monotonic() + grant.wait_ms / 1000
        step = 1 / grant.rate
        self._times.extend(
            (start + i * step, grant.now_ms, grant.sent + i) for i in range(grant.granted)
        )

    async def aclose(self) -> None:
        for task in (self._watcher, self._listener, self._turns, self._refill, self._reporting):
            if task is not None:
                task.cancel()
        await self.redis.aclose()

    async def _hear_cuts(self) -> None:
        """Every process drops the send times it reserved before a cut as soon as any one cuts
        (measured, four processes at 20/s: waiting for their next batch, they sent 16 requests
        into the server's full window within 250 ms of the cut, a third of the run's 429s)."""
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.key + CUTS)
                while True:
                    message = await pubsub.get_message(timeout=LISTEN_S)
                    _raise_if_cancelled()
                    if message is not None:
                        cut_ms, rate = message["data"].split()
                        self._heard_cut(float(cut_ms), float(rate))
            except RedisError:  # Redis away: each process hears of a cut at its next batch
                await asyncio.sleep(1.0)
            finally:
                await pubsub.aclose()

    def _heard_cut(self, cut_ms: float, rate: float) -> None:
        if cut_ms <= self._cut_ms:
            return
        self._cut_ms, self.rate = cut_ms, rate
        self._starting = False
        self._freed.set()  # no room to wait for past the slow start
        # Reserved after it, a time is at the new rate (the schedule restarted at the cut).
        self._times = deque(slot for slot in self._times if slot[1] > cut_ms)

    # -- while the request is out -------------------------------------------------------

    def _fly(self, ticket: Ticket, slot: Slot) -> Ticket:
        """The request goes: at the send time `slot` (when, reserved at, the window then)."""
        _, ticket.reserved_ms, ticket.window = slot
        self._unsent += not ticket.counted
        ticket.sent = time.monotonic()
        self._flying[id(ticket)] = ticket
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._watch())
        return ticket

    def _landed(self, ticket: Ticket) -> None:
        self._flying.pop(id(ticket), None)
        self._freed.set()

    async def answered(self, ticket: Ticket, status: int, retry_after: float) -> None:
        """The server answered: count a success, or cut for a 429 and wait its Retry-After."""
        self._landed(ticket)
        if ticket.permits is not None:
            ticket.permits.watch.answered()
        if status == 429:
            await self._signal(ticket, Signal.THROTTLED, retry_after)
            await asyncio.sleep(retry_after)
        elif status < 500 and not ticket.lent:
            self._ok += 1
            self._through += ticket.counted
            now = time.monotonic()
            if self._starting:  # only the slow start reads them (`_room`)
                self._acks.append(now)
            if _timed(ticket):
                took = now - ticket.sent
                self._latency += 0.1 * (took - self._latency) if self._latency else took
            if now - self._reported >= REPORT_S:
                self._report_soon()
        if status != 429:
            ticket.answered = True
            await self._undo_cut(ticket)
        await self._reclaim(ticket)

    async def _undo_cut(self, ticket: Ticket) -> None:
        """The request that made a cut was answered, so it was slow, not throttled (DocuWare
        answers a throttled one only with a 429): the cut is undone, unless another came since
        (`budget_store` says why, with what it cost). Called as it is answered and as its cut
        comes back, whichever is later: an answer that came while the cut was being made found
        none to undo (measured, one answer in ten 250 ms late at 100 ms: one slow start's end in
        five stood, and a job ran at 38-61 % of budget off)."""
        if not (ticket.cut and ticket.answered):
            return
        cut, ticket.cut = ticket.cut, ""  # undone once, whichever call comes later
        with contextlib.suppress(RedisError):  # Redis away: the cut stands
            if await self._undo(keys=[self.key], args=[cut]):
                log.info("DocuWare answered a request taken for throttled: its cut is undone")

    def _report_soon(self) -> None:
        """Reported in the background: the answer's request goes on meanwhile (awaited, the
        round trip held one request's row every `REPORT_S` for 24 ms on a busy loop)."""
        if self._reporting is None or self._reporting.done():
            self._reporting = asyncio.get_running_loop().create_task(self._report())

    async def _report_all(self) -> None:
        """Every success so far in Redis, those of a report under way too."""
        if self._reporting is not None:
            await asyncio.shield(self._reporting)
        if self._ok:
            await self._report()

    async def _report(self) -> None:
        """Successes go to Redis as they come, so the rate of answers that bounds the growth
        lags the server's less (measured, four processes: reported only with each reservation
        they reached Redis up to 0.4 s late, and a cold start took 4.3-4.5 s to 480
        requests/s on a server that does not throttle; 4.0 s reported so)."""
        ok, through = self._take_successes()
        self._reported = time.monotonic()
        try:
            await self._answered(keys=[self.key, self.key + ANSWERS], args=[ok, through])
        except RedisError:  # they go with the next reservation, which logs Redis away
            self._ok += ok
            self._through += through

    def _take_successes(self) -> tuple[int, int]:
        """The successes since the last report, and how many of them went with credentials."""
        taken = self._ok, self._through
        self._ok = self._through = 0
        return taken

    @staticmethod
    async def _reclaim(ticket: Ticket) -> None:
        if ticket.lent and ticket.permits is not None:
            await ticket.permits.reclaim()
            ticket.lent = False  # only now: cancelled while it waited, the permit is not back

    async def abandoned(self, ticket: Ticket) -> None:
        """Held unanswered and given up (to be sent again): a throttle signal."""
        ticket.abandoned = True
        self._landed(ticket)
        await self._signal(ticket, Signal.HELD)

    async def failed(self, ticket: Ticket) -> None:
        """No answer at all (network): nothing to learn; a lent permit comes back."""
        self._landed(ticket)
        if ticket.permits is not None:
            ticket.permits.watch.unreachable()
        await self._reclaim(ticket)

    def cancelled(self, ticket: Ticket) -> None:
        """Cancelled while out (its row or job stopped): nothing to learn, and no longer out,
        or the watch would take it for held and cut every worker's budget. A permit it lent
        stays with the rows it went to (`RowPermits.forgo`)."""
        self._landed(ticket)
        if ticket.lent and ticket.permits is not None:
            ticket.lent = False
            ticket.permits.forgo()

    @property
    def held_after(self) -> float:
        return max(HELD_MIN_S, HELD_FACTOR * self._latency)

    @property
    def stalled_after(self) -> float:
        return max(STALLED_MIN_S, STALLED_FACTOR * self._latency)

    def patience(self, held: int) -> float | None:
        """DocuWare holds a throttled request ~10 s and does not run it: one held past the
        usual answer time is given up and sent again; twice as patient each time, in case it
        is only slow. Before the process knows the usual answer time, it waits for ever."""
        return self.held_after * 2**held if self._latency else None

    async def _watch(self) -> None:
        """Requests out are judged slow or held against the usual answer time; none before it
        is known (measured, DocuWare 200 ms away, not throttling: the first request, found
        stalled at 0.15 s, ended the slow start at 4 requests/s, and a 1,000-row job ran at
        27 rows/s for 36 s, 41 % of budget off)."""
        while self._flying:
            await asyncio.sleep(WATCH_S)
            if not self._latency:
                continue
            now = time.monotonic()
            stalled, held = now - self.stalled_after, now - self.held_after
            timed = [t for t in self._flying.values() if _timed(t)]
            for ticket in [t for t in timed if t.sent < stalled]:
                if not ticket.stalled:
                    ticket.stalled = True
                    self._freed.set()
                    await self._signal(ticket, Signal.STALLED)
                if ticket.sent < held and ticket.patience is None and not ticket.lent:
                    ticket.lent = True
                    if ticket.permits is not None:
                        ticket.permits.lend()
                    await self._signal(ticket, Signal.HELD)

    async def _signal(self, ticket: Ticket, signal: Signal, retry_after: float = 0.0) -> None:
        floor = FLOOR_PER_S if signal is Signal.THROTTLED else START
        args = [ticket.reserved_ms, ticket.window, int(retry_after * 1000), signal.value, floor]
        await self._report_all()  # the cut reads what got through
        try:
            raw = await self._cut(
                keys=[self.key, self.key + ":429", self.key + SENDS, self.key + ANSWERS],
                args=[*args, uuid.uuid4().hex],
            )
        except RedisError as exc:
            log.warning("Request budget not reachable in Redis (%s); cutting alone", exc)
            cut = signal is not Signal.STALLED
            raw = [int(cut), max(min(floor, self.rate), self.rate * BETA), self._granted_ms, ""]
        if ticket.permits is not None:
            _tell_watch(ticket.permits.watch, signal, float(raw[1]), ticket.sent)
        if int(raw[0]):
            ticket.cut = raw[3]
            self._heard_cut(float(raw[2]), float(raw[1]))  # at once, not when published
            log.warning("DocuWare %s: shared budget cut to %.1f requests/s", signal.why, self.rate)
            await self._undo_cut(ticket)


def _timed(ticket: Ticket) -> bool:
    """A sign-in's answer time is its own (a password is checked): it neither sets the usual
    answer time nor is judged against it; its per-minute limit and a 429 still hold."""
    return ticket.kind is not Kind.LOGON


def _tell_watch(watch: ThrottleWatch, signal: Signal, rate: float, sent: float) -> None:
    """A 429 is throttling; a held request is, once DocuWare answers again; a slow one, not."""
    if signal is Signal.THROTTLED:
        watch.throttled(rate)
    elif signal is Signal.HELD:
        watch.held(rate, sent)


def _raise_if_cancelled() -> None:
    """A cancellation redis-py swallowed mid-read (8.2: one `listen()` in some 25 went on
    waiting, and the loop's shutdown with it) is raised here, once the read is over."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def process_budget(settings: DocuWareSettings, broker: BrokerSettings) -> Budget:
    """The budget every worker shares for this server and account; a local one when the
    shared budget is turned off (`[docuware] shared_budget = false`)."""
    if not settings.shared_budget:
        return LocalBudget()
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
