"""Plain-text formatting shared by the CLI, the TUI and the workers: local times, durations,
sizes, and control characters made visible (in reports, events and logs); and what a log line
goes through: its control characters escaped, and the same line repeated (Redis down, a store
that cannot be written) written the first time and then at most once a minute, with how often
it came.

A long-running service (`exmado worker`, `exmado watch`) installs the once-a-minute filter on
its log handlers. Lines that differ (another job, another error) are not held back.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def local_time(value: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored naive-UTC timestamp shown in the user's zone."""
    if value is None:
        return "-"
    return value.replace(tzinfo=UTC).astimezone(zone).strftime(fmt)


def duration(seconds: float | None) -> str:
    """`4d05h`, `1h02m`, `3m05s`, `42s`, or `-`: at most 7 characters below 1,000 days."""
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 100:
        days, hours = divmod(hours, 24)
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def span(seconds: float) -> str:
    """A duration for a sentence, rounded to its unit: `45 s`, `12 min`, `2 h`, `2.5 h`."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{round(seconds / 3600, 1):g} h"


def counted(count: int, noun: str) -> str:
    """`1 file`, `2 files`, `1,234 files`: a count and its noun, singular for one."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def size(num_bytes: int) -> str:
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def visible(text: str, keep: str = "") -> str:
    """`text` with control characters (NUL, ESC, a newline…) written as `\\x00`, except `keep`.

    A key read from a CSV may hold them: raw, they break a report ("cannot be used in
    worksheets"), forge log lines and recolour terminals.
    """
    if text.isprintable():  # no control character (each is unprintable): most text, faster
        return text
    return CONTROL.sub(lambda m: m[0] if m[0] in keep else f"\\x{ord(m[0]):02x}", text)


class VisibleLogRecord(logging.LogRecord):
    """A log record whose message and traceback never carry raw control characters (an
    exception's message may hold a key), whichever formatter writes it (ours, Dramatiq's).

    A formatter caches the traceback it formats in the record's `exc_text` (logging's
    documented cache) and writes it from there: the record escapes it as it is cached. Its
    newlines stay: they are the traceback's lines.
    """

    def getMessage(self) -> str:
        return visible(super().getMessage())

    @property
    def exc_text(self) -> str | None:
        return self._exc_text

    @exc_text.setter
    def exc_text(self, text: str | None) -> None:
        self._exc_text = None if text is None else visible(text, keep="\n")


def visible_logs() -> None:
    """Make every log record of this process a `VisibleLogRecord` (CLI and worker processes)."""
    logging.setLogRecordFactory(VisibleLogRecord)


# -- said once a minute -------------------------------------------------------------------------

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
