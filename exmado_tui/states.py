"""The one function that moves a job: a conditional UPDATE along `lifecycle.TRANSITIONS`.

A job whose worker died stays RUNNING and is taken over by another worker; that is a change of
owner, not of state.
"""

from __future__ import annotations

from typing import Any

from exmado_tui.db import database, utcnow
from exmado_tui.errors import TransitionError
from exmado_tui.event_line import Event
from exmado_tui.events import update_with_event
from exmado_tui.lifecycle import VERBS, JobStatus, sources_of
from exmado_tui.models import Job
from exmado_tui.notify import outbox
from exmado_tui.notify.kinds import NoticeKind
from exmado_tui.notify.notices import ON_STATUS


def transition(
    job_id: str,
    target: JobStatus,
    *,
    only_from: frozenset[JobStatus] | None = None,
    event: Event | None = None,
    where: Any = True,
    attention: str = "",
    **changes: Any,
) -> None:
    """Move a job to `target` with a conditional UPDATE; raise TransitionError if it cannot.

    The WHERE clause holds the allowed source states, so of two processes racing for the same
    job exactly one wins; the loser learns the state the winner left. `event` goes into the
    job's log in the same database transaction, and only when the job moved: a moved job
    always has its line, a refused move writes none. `where`: a further condition the job must
    meet (that no worker holds it).

    A move that people hear of (finished, finished with errors, failed; any move with an
    `attention` sentence, such as a pause for a full disk) writes its notice into the outbox in
    that same transaction.
    """
    allowed = sources_of(target) if only_from is None else sources_of(target) & only_from
    now = utcnow()
    values: dict[str, Any] = {"status": target, "updated_at": now, **changes}
    if target.is_final:
        values.setdefault("finished_at", now)
    move = Job.update(values).where((Job.id == job_id) & (Job.status.in_(allowed)) & where)
    notice = NoticeKind.NEEDS_ATTENTION if attention else ON_STATUS.get(target)
    with database.atomic():
        if update_with_event(job_id, move, event) != 1:
            raise _refusal(job_id, target)
        if notice is not None:
            outbox.add_for_job(job_id, notice, attention)


def _refusal(job_id: str, target: JobStatus) -> TransitionError:
    row = Job.select(Job.status).where(Job.id == job_id).first()
    if row is None:
        return TransitionError(f"Job {job_id[:8]} no longer exists.")
    return TransitionError(
        f"Job {job_id[:8]} is {row.status}; it cannot be {VERBS[target]} from there."
    )
