"""Time for tests: a clock that moves only when the test moves it, a sleep that only yields."""

from __future__ import annotations

import asyncio


class ManualClock:
    """Called as `time.monotonic` is; `now` changes only when the test sets it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def no_sleep(seconds: float) -> None:
    """An `asyncio.sleep` that lets other tasks run but waits for nothing."""
    await asyncio.sleep(0)
