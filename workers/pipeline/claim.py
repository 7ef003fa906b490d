"""Who holds a job: claim it (compare-and-set), beat its heart, hand it back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from peewee import fn

from exmado_tui import lifecycle
from exmado_tui.db import utcnow
from exmado_tui.errors import TransitionError
from exmado_tui.models import Job
from exmado_tui.states import JobStatus, transition

S = JobStatus
ACTIVE = [s.value for s in lifecycle.ACTIVE]


def claim(job_id: str, worker: str, stale_after_s: float) -> JobStatus | None:
    """Take the job for `worker`; its status then, or None when it is not ours to run.

    PENDING becomes VALIDATING. An active job is taken when nobody holds it (resumed, handed
    back) or its holder's heartbeat is older than `stale_after_s`; the WHERE clause carries
    that condition, so of two workers racing for it exactly one wins.
    """
    job = Job.select(Job.status).where(Job.id == job_id).first()
    if job is None:
        return None
    now = utcnow()
    taken: dict[str, Any] = {
        "worker": worker,
        "heartbeat_at": now,
        "runs": Job.runs + 1,
        "started_at": fn.COALESCE(Job.started_at, now),
    }
    if job.status == S.PENDING:
        try:
            transition(job_id, S.VALIDATING, only_from=frozenset({S.PENDING}), **taken)
        except TransitionError:
            return None
        return S.VALIDATING
    if job.status not in ACTIVE:
        return None
    cutoff = now - timedelta(seconds=stale_after_s)
    free = (Job.worker == "") | Job.heartbeat_at.is_null() | (Job.heartbeat_at < cutoff)
    won = (
        Job.update(**taken, wait_reason="", updated_at=now)
        .where((Job.id == job_id) & (Job.status == job.status) & free)
        .execute()
    )
    return S(job.status) if won == 1 else None


def heartbeat(job_id: str, worker: str) -> bool:
    """Refresh `heartbeat_at`; False when the job is no longer ours (taken over or ended)."""
    beat: int = (
        Job.update(heartbeat_at=utcnow())
        .where((Job.id == job_id) & (Job.worker == worker) & Job.status.in_(ACTIVE))
        .execute()
    )
    return beat == 1


def hand_back(job_id: str, worker: str, reason: str) -> None:
    """Let go of an active job so the next message (or the watchdog) can take it."""
    Job.update(worker="", wait_reason=reason, updated_at=utcnow()).where(
        (Job.id == job_id) & (Job.worker == worker)
    ).execute()
