"""One job's throttling episodes, as sentences for its event log: when DocuWare began slowing
the job down and, once quiet again, how long it lasted.

A job's `RowPermits` (`budget.py`) hold its watch; the request budget reports each throttle
signal of a request to the watch of the job whose row sent it.
"""

from __future__ import annotations

import time

from exmado_tui.job.status import Event

# How an episode's two sentences begin: `notify/attention.py` finds a job slowed for long by them.
SLOWED = "Slowed by DocuWare throttling"
OVER = "Throttling over"


class ThrottleWatch:
    """One job's throttling episodes, as sentences for its event log."""

    QUIET_S = 10.0  # an episode ends after this long without a throttle signal

    def __init__(self) -> None:
        self.started: float | None = None
        self.last = 0.0
        self.rate = 0.0
        self._pending: list[Event] = []

    def throttled(self, rate: float) -> None:
        now = time.monotonic()
        if self.started is None:
            self.started = now
            self._pending.append(
                Event(
                    f"{SLOWED}; shared budget {rate:.1f} requests/s.",
                    "warning",
                )
            )
        self.last, self.rate = now, rate

    def sentences(self, ended: bool = False) -> list[Event]:
        """What to record now: an episode's start, its end once quiet for `QUIET_S` (or the
        run `ended`)."""
        quiet = time.monotonic() - self.last >= self.QUIET_S
        if self.started is not None and (quiet or ended):
            lasted = max(self.last - self.started, 1.0)
            self._pending.append(
                Event(
                    f"{OVER}: slowed for {lasted:.0f} s; shared budget {self.rate:.1f} requests/s."
                )
            )
            self.started = None
        done, self._pending = self._pending, []
        return done
