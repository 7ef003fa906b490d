"""One asyncio event loop per worker process, in a daemon thread, shared by all its jobs.

Actors run in Dramatiq's worker threads and stay synchronous (they own the job store); the
HTTP side of every job runs on this loop, so one DocuWare client — one login, one connection
pool, one throttle gate — serves every job the process holds.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar, TypeVarTuple

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self, name: str = "exmado-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self.submit(coro).result(timeout)

    def call(self, fn: Callable[[*Ts], object], *args: *Ts) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


_lock = threading.Lock()
_loops: dict[int, LoopThread] = {}


def process_loop() -> LoopThread:
    """This process's loop (a forked child gets its own)."""
    with _lock:
        pid = os.getpid()
        if pid not in _loops:
            _loops[pid] = LoopThread()
        return _loops[pid]
