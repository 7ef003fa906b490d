"""What the jobs queue in Redis holds, read back for assertions."""

from __future__ import annotations

import json
from typing import Any

import redis

from exmado_tui.services.queue import JOBS_QUEUE, NAMESPACE

QUEUE_KEY = f"{NAMESPACE}:{JOBS_QUEUE}"


def queued_messages(url: str) -> list[dict[str, Any]]:
    """The messages waiting in the jobs queue, oldest first, as Dramatiq wrote them."""
    client = redis.Redis.from_url(url)
    ids = client.lrange(QUEUE_KEY, 0, -1)
    bodies = client.hmget(f"{QUEUE_KEY}.msgs", ids) if ids else []
    return [json.loads(body) for body in bodies]


def queue_length(url: str) -> int:
    return int(redis.Redis.from_url(url).llen(QUEUE_KEY))
