"""How the shared request budget learns a server's speed: its Redis scripts on a fake clock.

A real Redis runs the scripts; the clock is the test's (`ManualClock`), passed to them in place
of Redis's own. `Workers` take send times every `STEP_S` for as many requests as the rate
allows (or as they can `use`); a server with a `limit` refuses a request sent while its
one-second window of allowed requests is full, and the workers notice it `NOTICE_S` later
(a held request).
"""

from __future__ import annotations

import math
import sys
import uuid

import pytest
import redis

from exmado_tui.docuware.budget import FLOOR_PER_S, MAX_AHEAD_MS
from exmado_tui.docuware.budget_store import (
    AHEAD,
    ANSWERED,
    ANSWERS,
    ANSWERS_MS,
    BATCH_S,
    BETA,
    CUT,
    DRAIN_MS,
    EXIT_HOLD_MS,
    EXIT_HOLD_REQUESTS,
    EXIT_PLATEAU,
    FAST_FROM,
    K_MIN_S,
    PLATEAU,
    PREFIX,
    PROBE_REQUESTS,
    SENDS,
    SLOW_FROM,
    START,
    TAKE,
)
from tests.clocks import ManualClock

STEP_S = 0.1
NOTICE_S = 0.5
ENDLESS = 1e9


class Workers:
    def __init__(self, url: str, cap: float = 0, signal: str = "429") -> None:
        self.redis = redis.Redis.from_url(url)
        self.signal = signal  # what a refused request tells: a 429, or held (no answer)
        self.key = PREFIX + uuid.uuid4().hex[:8]
        self.clock = ManualClock(1_000.0)
        self.cap = cap
        self.rate = START
        self.granted = 0
        self.cuts = 0
        self._take = self.redis.register_script(TAKE)
        self._cut = self.redis.register_script(CUT)
        self._refused: tuple[float, float, float] | None = None  # reserved, sent, noticed at
        self._window: list[float] = []  # requests the server allowed, a step each

    def run(self, seconds: float, limit: float = ENDLESS, use: float = ENDLESS) -> list[float]:
        """The rate after each step of `seconds`."""
        rates = []
        for _ in range(round(seconds / STEP_S)):
            self.clock.now += STEP_S
            n = math.ceil(min(self.rate, use) * STEP_S)
            sent = self.take(ok=self._window[-1] if self._window else 0, n=n)
            allowed = sum(self._window[-round(1 / STEP_S) + 1 :])
            n = self.granted
            self._window.append(max(0.0, min(n, limit - allowed)))  # answered next step
            if self._window[-1] < n and self._refused is None:
                self._refused = (self.now_ms, sent, self.clock.now + NOTICE_S)
            if self._refused and self.clock.now >= self._refused[2]:
                self.cuts += self.throttled(*self._refused[:2], signal=self.signal)
                self._refused = None
            rates.append(self.rate)
        return rates

    def take(self, ok: float = 0, n: int = 1, through: float | None = None) -> float:
        """Takes `n` send times, `ok` successes since the last (`through` of them counted against
        the account: all, unless told); what was sent the second before."""
        through = ok if through is None else through
        args = [n, self.cap, ok, MAX_AHEAD_MS, "test", 60, 0, through, self.now_ms]
        answer = self._take(keys=self.keys, args=args)
        self.granted, self.rate = int(answer[0]), float(answer[2])
        return float(answer[5])

    def wait_ms(self) -> float:
        """How long the next request would wait for its send time (0: none)."""
        args = [1, self.cap, 0, ENDLESS, "test", 60, 0, 0, self.now_ms]
        return float(self._take(keys=self.keys, args=args)[1])

    def throttled(
        self, reserved_ms: float, sent: float, retry_after_ms: float = 0, signal: str = "429"
    ) -> bool:
        """A request reserved at `reserved_ms` was refused (or `signal`: held): whether the rate
        was cut."""
        floor = FLOOR_PER_S if signal == "429" else START
        args = [reserved_ms, sent, retry_after_ms, signal, floor, uuid.uuid4().hex, self.now_ms]
        keys = [self.key, self.key + ":429", self.key + SENDS, self.key + ANSWERS]
        cut, rate, *_ = self._cut(keys=keys, args=args)
        self.rate = float(rate)
        return bool(int(cut))

    @property
    def keys(self) -> list[str]:
        return [self.key, self.key + SENDS, self.key + ANSWERS]

    @property
    def now_ms(self) -> float:
        return self.clock.now * 1000

    @property
    def peak(self) -> float:
        return float(self.redis.hget(self.key, "peak") or 0)


def test_a_server_never_seen_is_met_low_and_the_rate_doubles_while_requests_succeed(
    redis_url: str,
) -> None:
    workers = Workers(redis_url)
    rates = workers.run(5)
    assert rates[0] < 1.5 * START and rates[10] > 2 * START  # doubling about every 0.6 s
    answered = next(i for i, rate in enumerate(rates) if rate >= FAST_FROM) + 3  # ~0.3 s on
    assert rates[answered + 3] > 2 * rates[answered]  # answers past FAST_FROM: every 0.25 s
    assert rates[29] > 300  # within 2.9 s: what a worker process sends at 20 ms an answer


def test_the_rate_runs_no_more_than_a_few_times_ahead_of_what_the_workers_send(
    redis_url: str,
) -> None:
    rates = Workers(redis_url).run(10, use=30)
    assert max(rates) <= 2 * AHEAD * 30  # no unbounded growth on a slow pipeline


def test_a_turn_with_no_answer_yet_takes_nothing_from_the_growth(redis_url: str) -> None:
    """Four processes share the rate: one whose requests are still out asks for its turn
    between two of another's, and the slow start goes on as fast as with one process."""

    def slow_start(others_between: int) -> float:
        busy = Workers(redis_url)
        quiet = [Workers(redis_url) for _ in range(others_between)]
        for _ in range(20):
            for other in quiet:
                other.key, other.clock = busy.key, busy.clock
                busy.clock.now += STEP_S / (others_between + 1)
                other.take(ok=0)
            busy.clock.now += STEP_S / (others_between + 1)
            busy.take(ok=busy.rate * STEP_S, n=math.ceil(busy.rate * STEP_S))
        return busy.rate

    assert slow_start(3) >= 0.95 * slow_start(0)


def test_successes_reported_between_reservations_grow_the_rate(redis_url: str) -> None:
    """A process reports its successes as they come (`ANSWERED`), not only with its next
    reservation; every process's reservations grow the rate from them."""
    workers = Workers(redis_url)
    report = workers.redis.register_script(ANSWERED)
    keys = [workers.key, workers.key + ANSWERS]
    for _ in range(20):
        workers.clock.now += STEP_S
        workers.take(ok=0, n=math.ceil(workers.rate * STEP_S))
        report(keys=keys, args=[workers.granted, workers.granted, workers.now_ms])
    assert workers.rate > 4 * START  # two seconds of doubling every 0.6 s


def test_the_slow_start_stops_rising_when_the_servers_answers_do(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its limit the server holds what it cannot take, unanswered: the answers stop
    rising, and the rate with them, even before a held request is noticed."""
    monkeypatch.setattr(sys.modules[__name__], "NOTICE_S", ENDLESS)
    workers = Workers(redis_url)
    assert max(workers.run(6, limit=20)) <= AHEAD * 20 * 1000 / ANSWERS_MS
    assert workers.cuts == 0


def test_the_fast_doubling_waits_for_the_answers_to_pass_fast_from(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that answers 20 requests a second holds the rest: the rate passes `FAST_FROM`
    before its held requests are found, but its answers never do, so it goes on doubling every
    0.6 s, not every 0.25 s, and overshoots the limit less before its cut."""
    monkeypatch.setattr(sys.modules[__name__], "NOTICE_S", ENDLESS)
    rates = Workers(redis_url).run(6, limit=20)
    fast = next(i for i, rate in enumerate(rates) if rate >= FAST_FROM)
    assert rates[fast + 1] < 1.2 * rates[fast]  # a step of 0.1 s: x1.12 (x1.32 at 0.25 s)


def test_a_pause_in_sending_keeps_the_rate_learned(redis_url: str) -> None:
    """Between two jobs nothing is sent: the next job goes on at the rate the last one learned."""
    workers = Workers(redis_url)
    learned = workers.run(5)[-1]
    workers.clock.now += 10
    assert min(workers.run(1)) >= learned


def test_a_reservation_holds_no_more_than_a_moment_at_the_rate_it_is_granted_at(
    redis_url: str,
) -> None:
    """A process that last saw a high rate asks for many send times; granted at a low one, they
    would put every process's next turn seconds ahead."""
    workers = Workers(redis_url)
    workers.take(n=64)
    assert workers.granted == max(1, math.ceil(START * BATCH_S))


def test_a_cut_starts_from_what_the_servers_window_held_not_from_the_overshoot(
    redis_url: str,
) -> None:
    workers, overshot = Workers(redis_url), 0.0
    while not workers.cuts:
        overshot = max(overshot, *workers.run(STEP_S, limit=20))
    assert overshot > 30  # the slow start went past the limit before the refusal was seen
    assert 17 <= workers.peak <= 21 and math.isclose(workers.rate, BETA * workers.peak)
    reserved_before = workers.now_ms - 100
    assert not workers.throttled(reserved_before, 40)  # the same episode: already left
    assert math.isclose(workers.rate, BETA * workers.peak)


def test_a_cut_restarts_the_schedule_at_once_and_forgets_the_times_reserved_before(
    redis_url: str,
) -> None:
    """Every process drops the times it reserved before a cut (they are at the old rate): the
    next one granted is now, not after them, and they are not counted as sent."""
    workers = Workers(redis_url)
    workers.run(3)
    assert workers.throttled(workers.now_ms, sent=workers.rate)  # the slow start's end
    workers.run(3)
    for _ in range(3):
        workers.take(n=64)
    tat = float(workers.redis.hget(workers.key, "tat") or 0)
    assert tat > workers.now_ms + 50  # reserved ahead
    assert workers.throttled(workers.now_ms - 10, sent=workers.rate, signal="held")
    args = [1, 0, 0, MAX_AHEAD_MS, "test", 60, 0, 0, workers.now_ms]
    answer = workers._take(keys=workers.keys, args=args)
    assert math.isclose(float(answer[3]), workers.now_ms)  # granted from now, no gap
    future = workers.redis.zcount(workers.key + SENDS, f"({workers.now_ms}", "+inf")
    assert future == 0  # the dropped times left the log of what was sent


def test_the_slow_starts_end_takes_the_peak_lower_and_lets_its_overshoot_drain(
    redis_url: str,
) -> None:
    """The slow start's doubling fills the server's window with more than its limit: the first
    cut takes less of what the window held as the peak, and nothing is granted while that
    overshoot drains (every request sent into the full window would be refused), for at most
    a few requests' time; later cuts, near the limit, do neither."""
    workers = Workers(redis_url)
    workers.run(3)
    assert workers.throttled(workers.now_ms, sent=20, signal="held")
    assert math.isclose(workers.peak, EXIT_PLATEAU * 20)
    assert math.isclose(workers.wait_ms(), EXIT_HOLD_MS)  # 8 requests at the cut rate: longer
    workers.clock.now += 2 * DRAIN_MS / 1000
    assert workers.throttled(workers.now_ms, sent=10)
    assert math.isclose(workers.peak, PLATEAU * 10) and workers.wait_ms() == 0

    fast = Workers(redis_url)
    fast.run(6)
    assert fast.rate > 200 and fast.throttled(fast.now_ms, sent=200, signal="held")
    assert math.isclose(fast.wait_ms(), EXIT_HOLD_REQUESTS * 1000 / fast.rate)


def test_the_slow_starts_end_takes_no_more_than_got_through_against_the_account(
    redis_url: str,
) -> None:
    """The window the slow start's end reads holds more than the server let through (requests
    it refused, a batch's later times, sign-ins): its peak is no more than the successes sent
    with the account's credentials in the last second, however many came without them
    (measured, a 5/s account's four processes signing in: 4-5 got through, the window read 7)."""
    workers = Workers(redis_url)
    for _ in range(round(1 / STEP_S)):  # a second: 5 successes with credentials, 4 without
        workers.clock.now += STEP_S
        workers.take(ok=0.9, through=0.5)
    assert workers.rate * EXIT_PLATEAU > 5.5
    assert workers.throttled(workers.now_ms, sent=7, signal="held")  # the window read 7
    assert math.isclose(workers.peak, 5)  # not EXIT_PLATEAU x 7, nor the 9 answered


def test_a_success_reported_by_a_worker_of_the_version_before_cuts_nothing_short(
    redis_url: str,
) -> None:
    """Mid-upgrade, a worker of the version before reports successes without `through`
    ("seq:ok"): the cut reads none got through from it, where it would fail."""
    workers = Workers(redis_url)
    workers.run(1)
    workers.redis.zadd(workers.key + ANSWERS, {"old:3": workers.now_ms})
    assert workers.throttled(workers.now_ms, sent=7, signal="held")


def test_after_a_cut_the_rate_climbs_back_under_the_peak_then_probes_past_it(
    redis_url: str,
) -> None:
    workers = Workers(redis_url)
    while not workers.cuts:
        workers.run(STEP_S, limit=10)
    peak = workers.peak
    k = max(PROBE_REQUESTS / peak, K_MIN_S)
    climb = workers.run(k - 0.5, limit=10)
    assert workers.cuts == 1 and climb == sorted(climb) and max(climb) <= peak
    assert climb[-1] > 0.97 * peak  # concave: near the peak long before reaching it
    probe = workers.run(k + 3)  # the server allows more now: past 2K, doubling
    assert probe[-1] > 3 * peak and workers.cuts == 1


def test_past_the_peak_the_probe_runs_only_a_little_ahead_of_the_answers(
    redis_url: str,
) -> None:
    """A probe past the limit is found only once a refused request is held (`NOTICE_S`);
    meanwhile the server answers no more than its limit, and the rate grows no further than
    `PROBE_AHEAD` times what it answers. Doubling as before, it went to three times the limit;
    here it stays under twice it (the harness's answers come a step at a time, in bursts)."""
    workers = Workers(redis_url, signal="held")
    while not workers.cuts:
        workers.run(STEP_S, limit=10)
    limit = 1.5 * workers.peak  # crossed past 2K, where the probe doubles
    rates = []
    while workers.cuts < 2:
        rates += workers.run(STEP_S, limit=limit)
    assert max(rates) > limit  # it probed past the limit ...
    assert max(rates) < 2 * limit, max(rates) / limit  # ... but not far


def test_a_slow_account_climbs_back_to_its_peak_more_slowly_still(redis_url: str) -> None:
    """Every probe past the limit costs about one 429, the larger a share the slower the
    account: below `SLOW_FROM` the climb back to the peak takes as many times longer again
    as the peak is below it (a 5/s account: K of about 14 s, not 8)."""
    workers = Workers(redis_url)
    while not workers.cuts:
        workers.run(STEP_S, limit=5)
    peak = workers.peak
    k = PROBE_REQUESTS / peak * SLOW_FROM / peak
    assert k > 1.5 * PROBE_REQUESTS / peak
    climb = workers.run(k - 0.5, limit=5)
    assert workers.cuts == 1 and max(climb) <= peak


def test_a_limit_that_rises_just_after_a_cut_is_followed_within_10_s(redis_url: str) -> None:
    """The worst case of following a limit that rose (10 -> 40/s): right after a cut, the
    probe's clock at its start. The rate is at 80 % of the new limit within 2K + 1.5 s: past
    the peak it runs at most `PROBE_AHEAD` times its answers ahead (2K + 0.75 s without)."""
    workers = Workers(redis_url)
    while not workers.cuts:
        workers.run(STEP_S, limit=10)
    k = max(PROBE_REQUESTS / workers.peak, K_MIN_S)
    rates = workers.run(12, limit=40)
    followed = next(i for i, rate in enumerate(rates) if rate >= 32) * STEP_S
    assert followed <= 2 * k + 1.5 < 10


def test_a_limit_that_falls_is_followed_from_what_gets_through(redis_url: str) -> None:
    """DocuWare's limit falls from 40 to 10/s and it holds what it refuses: what got through
    the last second says so at the first cut, where the window still holds what was sent."""
    workers = Workers(redis_url, signal="held")
    workers.run(20, limit=40)
    assert workers.rate > 30
    rates = workers.run(10, limit=10)
    followed = next(i for i, rate in enumerate(rates) if rate <= 12.5) * STEP_S
    # two or three cuts, by where on the probe's curve the fall meets the rate (2.6 s or 4.1 s);
    # cuts of 15 % from the window: 8.8 s
    assert followed < 5
    assert min(rates) >= START  # no cut read the second the limit fell in as the limit


def test_a_pause_after_a_cut_stops_the_probes_clock(redis_url: str) -> None:
    """The next job goes on from where the last one was on the climb back to the peak: the
    seconds between them, when nothing was sent, do not count as time spent near it."""
    workers = Workers(redis_url)
    while not workers.cuts:
        workers.run(STEP_S, limit=10)
    peak, k = workers.peak, PROBE_REQUESTS / workers.peak
    workers.run(k / 2, limit=10)
    workers.clock.now += 60  # between two jobs
    climb = workers.run(k / 2 - 0.5, limit=10)
    assert workers.cuts == 1 and max(climb) <= peak


def test_a_retry_after_hold_leaves_the_climb_back_to_start_at_its_end(redis_url: str) -> None:
    """Asked again and again while held (nothing granted), the probe's clock stays at the
    cut, neither running on nor jumping ahead."""
    workers = Workers(redis_url)
    workers.run(3)
    assert workers.throttled(workers.now_ms, 10, retry_after_ms=3000)
    peak, k = workers.peak, PROBE_REQUESTS / workers.peak
    for _ in range(30):  # every process asks, every 0.1 s, until the hold ends
        workers.clock.now += 0.1
        workers.take()
    climb = workers.run(k - 0.5)
    assert climb == sorted(climb) and max(climb) <= peak and climb[-1] > 0.97 * peak


def test_an_administrators_cap_bounds_the_learned_rate(redis_url: str) -> None:
    workers = Workers(redis_url, cap=10)
    assert max(workers.run(5)) == 10
    workers.run(3, limit=8)
    assert workers.cuts >= 1 and workers.rate < 8  # below the cap it still learns


def test_a_429_just_after_a_retry_after_pause_cuts_by_one_step_not_to_the_floor(
    redis_url: str,
) -> None:
    """The second before the first grant after a pause is mostly the pause: what was sent in it
    is no measure of what the server's window held."""
    workers = Workers(redis_url)
    workers.run(3)
    workers.throttled(workers.now_ms, workers.take(), retry_after_ms=2000)
    cut_to = workers.rate
    workers.clock.now += 2.0
    sent = workers.take()  # the first send time after the pause
    assert sent == cut_to
    workers.clock.now += 0.05
    assert workers.throttled(workers.now_ms - 50, sent)
    assert math.isclose(workers.rate, PLATEAU * BETA * cut_to, rel_tol=0.01)


def test_held_answers_alone_never_take_the_rate_below_the_start(redis_url: str) -> None:
    """A server whose every tenth answer is slow is not driven down cut by cut; only its own
    429 says that its limit is lower than any Cloud organization's."""
    workers = Workers(redis_url)
    workers.run(3)
    for _ in range(20):
        workers.clock.now += 1.5
        assert workers.throttled(workers.now_ms, 1, signal="held")
        assert workers.rate >= START * 0.999 and workers.run(0.5)[-1] >= START * 0.999
    workers.clock.now += 1.5
    assert workers.throttled(workers.now_ms, 1)
    assert workers.rate < START
