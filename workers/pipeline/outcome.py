"""How a run ended, and the exception that ends it early.

A module of its own, not part of `runner`: what raises `Stop` (the control read, the clock, the
heartbeat and lease of whoever owns the job) need not import the runner that handles it.
"""

from __future__ import annotations

from enum import Enum


class RunOutcome(Enum):
    """Why a run of a job ended; the runner ends the job accordingly (`JobRun._finish`)."""

    ENDED = "ended"  # every row had its turn: the job completes
    PAUSED = "paused"  # an operator asked for a pause
    CANCELLED = "cancelled"  # an operator asked for a cancel
    TERMINATED = "terminated"  # an operator terminated it, or the job ended under the run
    TIMED_OUT = "timed out"  # `jobs.job_timeout_s` ran out for this run
    LOST = "lost"  # another worker holds the job now

    @property
    def stops_at_once(self) -> bool:
        """No grace for the rows in flight: the store already says the run is over."""
        return self in (RunOutcome.TERMINATED, RunOutcome.LOST)


class Stop(Exception):
    """The run must end early, with `outcome`."""

    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome
