"""A job's figures that depend on the clock: how long it ran, rows per second, time left.

The clock is given (naive UTC, as the store keeps it), so the dashboard's snapshot tests can
freeze it; the CLI and the dashboard share these.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from exmado_tui.job.status import JobStatus

if TYPE_CHECKING:
    from exmado_tui.store.queries import JobSummary


def duration_s(job: JobSummary, now: datetime) -> float | None:
    if job.started_at is None:
        return None
    return max(0.0, ((job.finished_at or now) - job.started_at).total_seconds())


def rows_per_s(job: JobSummary, now: datetime) -> float | None:
    seconds = duration_s(job, now)
    return job.done_rows / seconds if seconds and job.done_rows else None


def eta_s(job: JobSummary, now: datetime) -> float | None:
    """Seconds left at the average rate so far; None unless the job is running."""
    rate = rows_per_s(job, now)
    if rate is None or job.status is not JobStatus.RUNNING:
        return None
    return max(0, job.total_rows - job.done_rows) / rate
