"""Per-user request throttling (HTTP 429) and random server errors (HTTP 500/503)."""

from __future__ import annotations

import random
import threading
import time
from collections import deque


class Throttle:
    """Sliding windows per key (one second unless told); a refused request is not counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}

    def allow(self, key: str, limit: float, window_s: float = 1.0) -> bool:
        """Whether one more request for key fits under `limit` per `window_s` (0 = off)."""
        if limit <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            window = self._windows.setdefault(key, deque())
            while window and now - window[0] >= window_s:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True


class ErrorInjector:
    """Decides, reproducibly for a seed, which requests fail with 500 or 503."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"{seed}:errors")
        self._lock = threading.Lock()

    def pick(self, rate: float) -> int | None:
        """500 or 503 for a fraction rate of calls, else None."""
        if rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= rate:
                return None
            return 503 if self._rng.random() < 0.5 else 500

    def chance(self, rate: float) -> bool:
        """True for a fraction `rate` of calls (reproducibly for the seed)."""
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate
