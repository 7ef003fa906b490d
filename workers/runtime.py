"""What one worker process shares between its jobs: settings, Redis, slots, loop and client."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from exmado_tui.config.settings import Settings
from exmado_tui.job.liveness import Clocks
from exmado_tui.job.liveness.hold import JobSlots
from exmado_tui.services.queue import JobQueue, make_broker, redis_client
from workers.docuware_port import DocuWarePort
from workers.loop import LoopThread, process_loop

ClientFactory = Callable[[Settings], DocuWarePort]


def docuware_client(settings: Settings) -> DocuWarePort:
    from exmado_tui.docuware.budget import process_budget
    from exmado_tui.docuware.client import AsyncDocuWareClient

    budget = process_budget(settings.docuware, settings.broker)
    return AsyncDocuWareClient(settings.docuware, budget=budget)


@dataclass
class Runtime:
    """Per-process services; the DocuWare client is made on the loop at first use."""

    settings: Settings
    redis: redis.Redis
    slots: JobSlots
    queue: JobQueue
    client_factory: ClientFactory = docuware_client
    _client: DocuWarePort | None = field(default=None, repr=False)
    _client_pid: int = 0
    _lock: asyncio.Lock | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Runtime:
        client = redis_client(settings.broker)
        lease_ttl_s = Clocks.of(settings.jobs).lease_ttl_s
        slots = JobSlots(client, settings.jobs.max_concurrent_jobs, lease_ttl_s)
        queue = JobQueue(make_broker(settings.broker), settings.broker.url)
        return cls(settings, client, slots, queue, **options)

    @property
    def clocks(self) -> Clocks:
        return Clocks.of(self.settings.jobs)

    @property
    def worker_id(self) -> str:
        """host:pid of this process, as jobs and the worker registry show it."""
        return f"{self.settings.host}:{os.getpid()}"

    @property
    def loop(self) -> LoopThread:
        return process_loop()

    async def client(self) -> DocuWarePort:
        """The process's one DocuWare client (must be awaited on the process loop)."""
        if self._client_pid != os.getpid():
            self._client, self._client_pid, self._lock = None, os.getpid(), asyncio.Lock()
        assert self._lock is not None
        async with self._lock:
            if self._client is None:
                self._client = self.client_factory(self.settings)
        return self._client

    def close_client(self) -> None:
        if self._client is not None and self._client_pid == os.getpid():
            self.loop.run(self._client.aclose(), timeout=10)
            self._client = None
