"""The worker registry: each process refreshes a short-lived key in Redis while it lives."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from typing import Any, Protocol

import redis

from exmado_tui.job.ownership import ANNOUNCE_EVERY_S
from exmado_tui.services.queue import WORKER_KEY_PREFIX
from exmado_tui.store.db import utcnow
from workers.periodic import repeat
from workers.runtime import Runtime

log = logging.getLogger("exmado.workers")


class Holder(Protocol):
    threads: int

    @property
    def jobs(self) -> set[str]: ...


def key_of(runtime: Runtime) -> str:
    return WORKER_KEY_PREFIX + runtime.worker_id


class Registry:
    """Announce this process every `ANNOUNCE_EVERY_S` seconds until `stop` is set."""

    def __init__(self, runtime: Runtime, holder: Holder) -> None:
        self.runtime = runtime
        self.holder = holder
        self.since = utcnow().isoformat(timespec="seconds") + "Z"

    def start(self, stop: threading.Event) -> threading.Thread:
        return repeat(self._announce_or_warn, ANNOUNCE_EVERY_S, stop, "exmado-registry")

    def _announce_or_warn(self) -> None:
        try:
            self.announce()
        except redis.RedisError as exc:  # Redis away for a moment: a warning, not a traceback
            log.warning("Cannot announce this worker in Redis: %s", exc)

    def entry(self) -> dict[str, Any]:
        return {
            "id": self.runtime.worker_id,
            "host": self.runtime.settings.host,
            "pid": os.getpid(),
            "since": self.since,
            "seen": utcnow().isoformat(timespec="seconds") + "Z",
            "threads": self.holder.threads,
            "jobs": sorted(self.holder.jobs),
        }

    def announce(self) -> None:
        self.runtime.redis.set(key_of(self.runtime), json.dumps(self.entry()), ex=self.ttl_s)

    @property
    def ttl_s(self) -> int:
        """How long a killed worker still looks alive (`Clocks.presence_ttl_s`)."""
        return self.runtime.clocks.presence_ttl_s


def forget(runtime: Runtime) -> None:
    with contextlib.suppress(redis.RedisError):
        runtime.redis.delete(key_of(runtime))
