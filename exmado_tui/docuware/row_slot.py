"""A row's permit to send, lent to the rows behind it while its request is held unanswered.

DocuWare answers a throttled request only after ~10 s; the request budget takes such a held
request as throttled at once and lends its row's slot (`SLOT`, set by the pipeline for each
row) to the rows behind it until it is answered, so a late 429 stalls nothing but itself.
"""

from __future__ import annotations

import asyncio
import contextvars


class Slot:
    """A row's permit, lent to the rows behind while its request is held by the server."""

    def __init__(self, permits: asyncio.Semaphore) -> None:
        self._permits = permits

    def lend(self) -> None:
        self._permits.release()

    async def reclaim(self) -> None:
        await self._permits.acquire()


SLOT: contextvars.ContextVar[Slot | None] = contextvars.ContextVar("exmado_slot", default=None)
