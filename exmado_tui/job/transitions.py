"""Moving a job and its event log: `transition`, the one function that moves a job (a
conditional UPDATE along `status.TRANSITIONS`), and the short lines the TUI tails and the CLI
shows, written in the same transaction as the change they tell.

A job whose worker died stays RUNNING and is taken over by another worker; that is a change of
owner, not of state.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, TypedDict, Unpack

import peewee

from exmado_tui.errors import TransitionError
from exmado_tui.formatting import visible
from exmado_tui.job.status import VERBS, Control, Event, EventLevel, JobStatus, sources_of
from exmado_tui.notify import outbox
from exmado_tui.notify.outbox import ON_STATUS
from exmado_tui.notify.targets import NoticeKind
from exmado_tui.store.db import database, utcnow
from exmado_tui.store.models import Job, JobEvent

EVENT_LOGGER = "exmado.jobs"
log = logging.getLogger(EVENT_LOGGER)


class JobColumns(TypedDict, total=False):
    """The columns a move may set besides the status (and `updated_at`, `finished_at`).

    A claim counts the run and keeps the first start in SQL (`Job.runs + 1`,
    `COALESCE(started_at, now)`): those take an expression.
    """

    control: Control | None
    worker: str
    wait_reason: str
    last_error: str
    finished_at: datetime | None
    heartbeat_at: datetime
    runs: int | peewee.ColumnBase
    started_at: datetime | peewee.ColumnBase


def transition(
    job_id: str,
    target: JobStatus,
    *,
    only_from: frozenset[JobStatus] | None = None,
    event: Event | None = None,
    where: Any = True,
    attention: str = "",
    **changes: Unpack[JobColumns],
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


# The job's event log: short lines the TUI tails and the CLI shows.
def record_event(job_id: str, message: str, level: EventLevel = "info") -> None:
    """Append one line to the job's log (and to the process log), control characters visible."""
    log_event(job_id, store_event(job_id, Event(message, level)))


def store_event(job_id: str, event: Event) -> Event:
    """Append `event` to the job's log; the event as stored (control characters visible)."""
    shown = Event(visible(event.text), event.level)
    JobEvent.create(job=job_id, message=shown.text, level=shown.level)
    return shown


def log_event(job_id: str, event: Event) -> None:
    """Write a stored event to the process log too."""
    log.log(logging.getLevelName(event.level.upper()), "job %s: %s", job_id[:8], event.text)


def update_with_event(job_id: str, update: peewee.ModelUpdate, event: Event | None) -> int:
    """Run `update` of the job's row; when it changed that row, `event` goes into the job's
    log in the same transaction (a changed job has its line, an unchanged one none), and into
    the process log once committed (it tells only what is stored). How many rows changed."""
    with database.atomic():
        changed: int = update.execute()
        stored = store_event(job_id, event) if changed == 1 and event is not None else None
    if stored is not None:
        log_event(job_id, stored)
    return changed
