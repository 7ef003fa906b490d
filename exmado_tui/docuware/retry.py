"""When to try a request again, how long to wait, and the gate that throttling closes.

Policy: 429 is always resent (DocuWare documents throttled requests as not executed), after
`Retry-After` (seconds or an HTTP date; the configured default when absent), and the wait holds
back every request of the client, not only the one that was throttled. 408/500/502/503/504,
resets and timeouts back off exponentially with full jitter, but only for requests that are
safe to repeat: GET/HEAD/PUT/DELETE, and POSTs marked idempotent (searches and token requests).
A connect failure means nothing was sent, so any request may be retried after one.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

RETRY_STATUSES = frozenset({408, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    throttle_default_wait_s: float = 60.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 600.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential delay before attempt `attempt + 1` (attempt counts from 1)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)

    def throttle_wait(self, response: httpx.Response, now: datetime | None = None) -> float:
        wait = parse_retry_after(response.headers.get("Retry-After"), now)
        wait = self.throttle_default_wait_s if wait is None else wait
        return min(max(wait, 0.0), self.max_retry_after_s)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as delta seconds or an HTTP date → seconds to wait (None if unusable)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:  # "nan" and "inf" parse as floats but say nothing usable
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - (now or datetime.now(UTC))).total_seconds(), 0.0)


def may_retry(method: str, *, idempotent: bool | None) -> bool:
    return idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS


class ThrottleGate:
    """A shared time stamp: no request of the client is sent before it."""

    def __init__(self, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._open_at = 0.0

    def close_for(self, seconds: float) -> None:
        self._open_at = max(self._open_at, self._clock() + seconds)

    @property
    def remaining(self) -> float:
        return max(self._open_at - self._clock(), 0.0)

    async def wait(self) -> None:
        while (remaining := self.remaining) > 0:
            await self._sleep(remaining)
