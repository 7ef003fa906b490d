"""Cloud's per-minute limits besides the request rate: sign-ins, and cabinet lists per user.

Which limit a request counts against is read from its path (`kind_of`); `PerMinute.wait`
waits for a turn in the account's sliding one-minute log in Redis (`budget_store.MINUTE`),
shared by every worker, and notes each sign-in in the account's hour log
(`budget_store.SIGNED_IN`). Redis out of reach: the request goes on (the server's 429 remains).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from enum import Enum
from typing import Any

from redis.exceptions import RedisError

from exmado_tui.docuware.budget_store import MINUTE, SIGNED_IN, SIGNINS

log = logging.getLogger("exmado.docuware")


class Kind(Enum):
    """Which per-minute limit a request counts against, besides the request budget."""

    REQUEST = "request"
    LOGON = "logon"
    CABINETS = "cabinets"


_LOGON = re.compile(r"(/connect/token|/Account/Logon)/?$", re.IGNORECASE)
_CABINETS = re.compile(r"/FileCabinets(/[^/]+)?/?$", re.IGNORECASE)


def kind_of(path: str) -> Kind:
    if _LOGON.search(path):
        return Kind.LOGON
    if _CABINETS.search(path):
        return Kind.CABINETS
    return Kind.REQUEST


class PerMinute:
    """One account's per-minute limits (0 = none), kept in Redis under `key`."""

    def __init__(self, redis: Any, key: str, logons: int, cabinet_lists: int) -> None:
        self.key = key
        self._limits = {Kind.LOGON: logons, Kind.CABINETS: cabinet_lists}
        self._minute = redis.register_script(MINUTE)
        self._signed_in = redis.register_script(SIGNED_IN)

    async def wait(self, kind: Kind) -> None:
        """Wait until a request of `kind` is within its limit (at once for a plain request)."""
        if kind is Kind.LOGON:
            await self._note_signin()
        per_min = self._limits.get(kind, 0)
        if per_min <= 0:
            return
        key = f"{self.key}:{kind.value}"
        try:
            while wait_ms := float(
                await self._minute(keys=[key], args=[per_min, uuid.uuid4().hex])
            ):
                log.info(
                    "DocuWare %s limit (%d a minute): waiting %.1f s",
                    kind.value,
                    per_min,
                    wait_ms / 1000,
                )
                await asyncio.sleep(wait_ms / 1000)
        except RedisError as exc:
            log.warning(
                "Per-minute %s limit not reachable in Redis (%s); going on", kind.value, exc
            )

    async def _note_signin(self) -> None:
        try:
            await self._signed_in(keys=[self.key + SIGNINS], args=[uuid.uuid4().hex])
        except RedisError as exc:
            log.warning("Sign-in log not reachable in Redis (%s); going on", exc)
