"""Job states, the edges allowed between them, and the one function that moves a job.

Beyond the diagram in DESIGN.md §3, three edges exist on purpose: VALIDATING → CANCELLED (a
cancel asked during validation), and PENDING/PAUSED → FAILED (an operator's `fail` of a job
nobody will run). A job whose worker died stays RUNNING and is taken over by another worker;
that is a change of owner, not of state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from exmado_tui.db import utcnow
from exmado_tui.errors import TransitionError
from exmado_tui.models import Job


class JobStatus(StrEnum):
    PENDING = "PENDING"
    VALIDATING = "VALIDATING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self in FINAL

    @property
    def is_active(self) -> bool:
        """A worker holds the job (or should)."""
        return self in (JobStatus.VALIDATING, JobStatus.RUNNING)


S = JobStatus
FINAL = frozenset({S.COMPLETED, S.COMPLETED_WITH_ERRORS, S.FAILED, S.CANCELLED})
RETRYABLE = frozenset({S.FAILED, S.COMPLETED_WITH_ERRORS, S.CANCELLED})

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.PENDING: frozenset({S.VALIDATING, S.CANCELLED, S.FAILED}),
    S.VALIDATING: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.RUNNING: frozenset({S.PAUSED, S.COMPLETED, S.COMPLETED_WITH_ERRORS, S.FAILED, S.CANCELLED}),
    S.PAUSED: frozenset({S.RUNNING, S.CANCELLED, S.FAILED}),
    S.COMPLETED: frozenset(),
    S.COMPLETED_WITH_ERRORS: frozenset({S.PENDING}),
    S.FAILED: frozenset({S.PENDING}),
    S.CANCELLED: frozenset({S.PENDING}),
}

VERBS = {
    S.PENDING: "queued again",
    S.VALIDATING: "validated",
    S.RUNNING: "run",
    S.PAUSED: "paused",
    S.COMPLETED: "completed",
    S.COMPLETED_WITH_ERRORS: "completed",
    S.FAILED: "failed",
    S.CANCELLED: "cancelled",
}


def sources_of(target: JobStatus) -> frozenset[JobStatus]:
    """The states from which a job may move to `target`."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


def can_move(current: JobStatus, target: JobStatus) -> bool:
    return target in TRANSITIONS[current]


def transition(
    job_id: str,
    target: JobStatus,
    *,
    only_from: frozenset[JobStatus] | None = None,
    **changes: Any,
) -> None:
    """Move a job to `target` with a conditional UPDATE; raise TransitionError if it cannot.

    The WHERE clause holds the allowed source states, so of two processes racing for the same
    job exactly one wins; the loser learns the state the winner left.
    """
    allowed = sources_of(target) if only_from is None else sources_of(target) & only_from
    now = utcnow()
    values: dict[str, Any] = {"status": target.value, "updated_at": now, **changes}
    if target.is_final:
        values.setdefault("finished_at", now)
    moved = (
        Job.update(values)
        .where((Job.id == job_id) & (Job.status.in_([s.value for s in allowed])))
        .execute()
    )
    if moved != 1:
        raise _refusal(job_id, target)


def _refusal(job_id: str, target: JobStatus) -> TransitionError:
    row = Job.select(Job.status).where(Job.id == job_id).first()
    if row is None:
        return TransitionError(f"Job {job_id[:8]} no longer exists.")
    return TransitionError(
        f"Job {job_id[:8]} is {row.status}; it cannot be {VERBS[target]} from there."
    )
