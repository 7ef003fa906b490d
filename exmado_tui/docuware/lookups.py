"""Lookups every job needs — the organization, cabinets, dialogs and their fields — shared by
the workers through Redis, so a job start (or a restarted worker) does not ask DocuWare again.

They change rarely (a DocuWare admin's work), and cabinet lists are limited a minute on Cloud:
a body read by one worker is kept `LOOKUP_TTL_S` for all, per server and account (the request
budget's key). `exmado docuware forget` drops them at once (`forget`), after an admin changed
a cabinet or dialog. Redis out of reach: lookups go to DocuWare.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from redis.exceptions import RedisError

LOOKUP_TTL_S = 3600


class SharedLookups:
    """The lookups of one account (`key`: the budget's Redis key), on an async Redis client."""

    def __init__(self, redis: Any, key: str) -> None:
        self.redis = redis
        self.key = key

    async def recall(self, href: str) -> bytes | None:
        """A lookup's body another worker (or an earlier start) read within `LOOKUP_TTL_S`."""
        try:
            body: bytes | None = await self.redis.get(self._key(href))
        except RedisError:
            return None
        return body

    async def remember(self, href: str, body: bytes) -> None:
        with contextlib.suppress(RedisError):
            await self.redis.set(self._key(href), body, ex=LOOKUP_TTL_S)

    def _key(self, href: str) -> str:
        return f"{self.key}:lookup:{hashlib.sha256(href.encode()).hexdigest()[:24]}"


def forget(redis: Any, key: str) -> int:
    """Drop every shared lookup of the account `key` (on a sync Redis client); how many."""
    names = list(redis.scan_iter(match=f"{key}:lookup:*", count=500))
    return int(redis.delete(*names)) if names else 0
