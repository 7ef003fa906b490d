"""Say it once, then every minute: the same log line repeated (Redis down, a store that cannot
be written) is written the first time and then at most once a minute, with how often it came.

A long-running service (`exmado worker`, `exmado watch`) installs it on its log handlers. Lines
that differ (another job, another error) are not held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

EVERY_S = 60.0
MAX_KEYS = 1000  # distinct lines remembered; older ones are forgotten first


class OncePerMinute(logging.Filter):
    """Let a line through the first time, then once per `every_s` while it repeats."""

    def __init__(
        self, every_s: float = EVERY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.every_s = every_s
        self.clock = clock
        self._last: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        now = self.clock()
        said, held = self._last.get(key, (-self.every_s, 0))
        if now - said < self.every_s:
            self._last[key] = (said, held + 1)
            return False
        self._forget_old(now)
        self._last[key] = (now, 0)
        if held:
            record.msg = f"{record.getMessage()} (and {held} times more in the last minute)"
            record.args = None
        return True

    def _forget_old(self, now: float) -> None:
        if len(self._last) >= MAX_KEYS:
            self._last = {k: v for k, v in self._last.items() if now - v[0] < self.every_s}


def quiet_repeats(logger: logging.Logger | None = None) -> Callable[[], None]:
    """Install one OncePerMinute on every handler of `logger` (the root logger by default);
    the function returned takes it off again."""
    quiet, handlers = OncePerMinute(), list((logger or logging.getLogger()).handlers)
    for handler in handlers:
        handler.addFilter(quiet)

    def undo() -> None:
        for handler in handlers:
            handler.removeFilter(quiet)

    return undo
