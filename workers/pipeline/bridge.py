"""The bridge between a job's actor thread and the process's event loop.

The actor's thread owns the job store and never awaits; the row engine and the DocuWare client
live on the loop (`workers/runtime.py`). Work crosses in three ways: a coroutine the thread waits
for while it keeps the job alive (`awaiting`), pending rows handed into the engine's inbox
(`Feed`), and row results coming back through a thread-safe `queue.Queue` (`collect`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import queue
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from exmado_tui.job.status import Event
from workers.pipeline import progress
from workers.pipeline.rows import Inbox, RowResult, RowTask
from workers.runtime import LoopThread

CHUNK = 500  # pending rows read from the store at a time
T = TypeVar("T")


def awaiting(
    loop: LoopThread, coro: Coroutine[Any, Any, T], meanwhile: Callable[[], None], every: float
) -> T:
    """`coro`'s result, run on `loop`; `meanwhile` is called every `every` seconds until then.

    Signing in and finding the cabinet can wait minutes on a throttled DocuWare: without
    beats another worker would take the job over, and a cancel would go unheard. Whatever
    `meanwhile` raises cancels `coro`.
    """
    future = loop.submit(coro)
    try:
        while not _finished(future, every):
            meanwhile()
    except BaseException:
        future.cancel()
        raise
    return future.result()


def new_inbox(loop: LoopThread) -> Inbox:
    """An inbox for the engine, made on the loop that reads it."""
    return loop.run(_new_queue())


def collect(results: queue.Queue[RowResult], timeout: float) -> list[RowResult]:
    """The results there are, waiting up to `timeout` for the first (0: not at all)."""
    got: list[RowResult] = []
    try:
        got.append(results.get(timeout=timeout) if timeout else results.get_nowait())
        while True:
            got.append(results.get_nowait())
    except queue.Empty:
        return got


class Feed:
    """Pending rows into the engine's inbox; transient failures get one more turn at the end."""

    def __init__(self, job_id: str, loop: LoopThread, inbox: Inbox, window: int) -> None:
        self.job_id, self.loop, self.inbox, self.window = job_id, loop, inbox, window
        self.buffer: deque[RowTask] = deque()
        self.deferred: list[RowTask] = []
        self.after = 0
        self.exhausted = False
        self.outstanding = 0
        self.streak = 0  # transient failures in a row
        self.tried = 0  # rows given their first turn
        self.unreachable = 0  # rows kept back for DocuWare out of reach
        # What the rows kept back carried (the job's throttling sentences): not the row's
        # result, which waits for its second turn, but told with the next batch, in order.
        self.held_events: list[Event] = []

    @property
    def finished(self) -> bool:
        idle = not self.buffer and self.outstanding == 0 and not self.deferred
        return self.exhausted and idle

    def top_up(self) -> None:
        """Fill the window once a quarter of it is free; the rows go over in one hand-off.

        Waiting for a quarter (not topping up after each returned row) lets the engine search
        them as one batch even when rows come back one at a time; three quarters of the
        window stay with the engine meanwhile.
        """
        if self.window - self.outstanding < max(1, self.window // 4):
            return
        rows: list[RowTask] = []
        while self.outstanding < self.window and self._next_ready():
            rows.append(self.buffer.popleft())
            self.outstanding += 1
            self.tried += not rows[-1].second_chance
        if rows:
            self.loop.call(_put_all, self.inbox, rows)

    def _next_ready(self) -> bool:
        if not self.buffer and not self.exhausted:
            rows = progress.pending_rows(self.job_id, self.after, CHUNK)
            self.exhausted = not rows
            if rows:
                self.after = rows[-1][1]
                self.buffer.extend(RowTask(i, n, k, v or {}) for i, n, k, v in rows)
        if not self.buffer and self.exhausted and self.outstanding == 0 and self.deferred:
            self.buffer.extend(self.deferred)
            self.deferred = []
        return bool(self.buffer)

    def returned(self, result: RowResult) -> None:
        self.outstanding -= 1
        self.streak = self.streak + 1 if result.retryable else 0

    @property
    def all_unreachable(self) -> bool:
        """Every row of the run found DocuWare out of reach in its first turn, and none is
        left: a job with fewer rows than the streak that says DocuWare is down
        (`streak_limit`) would otherwise fail each of them in its second turn. (A server that
        answers, even 503 for each, is left to fail the rows of a small job.)"""
        kept = len(self.deferred)
        return self.exhausted and not self.buffer and 0 < self.tried == kept == self.unreachable

    def deferred_now(self, result: RowResult) -> bool:
        """Keep a transient failure back for a second turn (not written, stays pending); its
        events are kept for the next batch (`take_events`)."""
        if result.retryable and not result.task.second_chance:
            self.deferred.append(dataclasses.replace(result.task, second_chance=True))
            self.unreachable += result.unreachable
            self.held_events += result.events
            return True
        return False

    def take_events(self) -> list[Event]:
        """The events of the rows kept back since the last call, to write with a batch."""
        events, self.held_events = self.held_events, []
        return events


def _finished(future: concurrent.futures.Future[Any], timeout: float) -> bool:
    return bool(concurrent.futures.wait([future], timeout=timeout).done)


def _put_all(inbox: Inbox, rows: list[RowTask]) -> None:
    for row in rows:
        inbox.put_nowait(row)


async def _new_queue() -> Inbox:
    return asyncio.Queue()
