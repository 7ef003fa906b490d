"""The job service: create, start, pause, resume, cancel, retry, fail and delete jobs.

The TUI, the CLI and the drop-folder watcher all act through this one class. Pause and cancel
of a job a worker holds are requests (`Job.control`) that the pipeline honours within a second;
everything else is a compare-and-set transition (see `transitions.transition`). What a new
job is made of (the request, the workbook checked and copied, the query) is `new_job`'s.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from exmado_tui.config.settings import Settings
from exmado_tui.errors import QueueUnavailableError, TransitionError
from exmado_tui.files import check_output_folder
from exmado_tui.formatting import visible
from exmado_tui.job.actor import Actor, Door, audit_line
from exmado_tui.job.liveness.hold import unheld
from exmado_tui.job.new_job import (
    JobRequest,
    keep_in_store,
    output_dir,
    query_job,
    with_private_copy,
    workbook_job,
)
from exmado_tui.job.query_source import QuerySource
from exmado_tui.job.status import (
    ACTIVE,
    FINAL,
    RETRYABLE,
    ROWS_TO_RETRY,
    Control,
    Event,
    JobStatus,
    RowStatus,
)
from exmado_tui.job.transitions import record_event, transition
from exmado_tui.services.queue import JobQueue
from exmado_tui.store.db import database, utcnow
from exmado_tui.store.models import Job, JobEvent, JobFile, JobRow, delete_rows
from exmado_tui.store.queries import JobDetail, get_job, resolve_job_id

S = JobStatus
# Ingest fails a row with an empty key or an Excel error cell before any run tries it, and a
# run reads the job's own copy of the workbook: another run cannot change such a row.
FAILED_AT_IMPORT = (JobRow.status == RowStatus.FAILED) & JobRow.failed_at_import


def _rows_to_retry(job_id: str) -> Any:
    return (JobRow.job == job_id) & JobRow.status.in_(ROWS_TO_RETRY) & ~FAILED_AT_IMPORT


class JobService:
    """Every change a person or a script makes to jobs."""

    def __init__(
        self, settings: Settings, queue: JobQueue | None = None, actor: Actor | None = None
    ) -> None:
        self.settings = settings
        self._queue = queue
        self.actor = actor or Actor.here(Door.CLI, settings.host)
        """Who acts through this service, named in every control action's event."""

    @property
    def queue(self) -> JobQueue:
        if self._queue is None:
            self._queue = JobQueue.from_settings(self.settings.broker)
        return self._queue

    # -- creating ---------------------------------------------------------------------------

    def create(self, request: JobRequest) -> JobDetail:
        """Store a new PENDING job and queue it if `request.start`: from a workbook (a private
        copy kept), or from a DocuWare query, whose documents the worker reads as the rows."""
        workbook, profile, user = request.workbook, request.profile, request.user
        config = dict(request.config) if request.config is not None else None
        job_id = uuid.uuid4().hex
        by = f"by {self.actor}" + (f" for {user}" if user and user != self.actor.user else "")
        if isinstance(workbook, QuerySource):
            made = query_job(self.settings, workbook, profile, config, by)
        else:
            made = workbook_job(self.settings, Path(workbook).expanduser(), profile, config, by)
        name = request.name or made.name
        output = output_dir(self.settings, request.output, name, job_id)
        if made.copy_of is not None:
            made = with_private_copy(self.settings.data_dir, made, made.copy_of, job_id)
        with database.atomic():
            Job.create(
                id=job_id,
                name=name,
                user=user or self.actor.user,
                source=request.source,
                status=S.PENDING,
                profile=profile or "",
                config=made.snapshot,
                output_dir=output,
                wait_reason="not started",
                created_by=str(self.actor),
                **made.workbook,
            )
            if made.content is not None:
                keep_in_store(job_id, made.content)
            for event in made.events:
                record_event(job_id, event.text, event.level)
        return self._queued(job_id, request.start)

    def _queued(self, job_id: str, start: bool) -> JobDetail:
        """The job, queued first when `start`; saved but not queued says how to start it."""
        if start:
            try:
                self._enqueue(job_id)
            except QueueUnavailableError as exc:
                raise QueueUnavailableError(
                    f"Job {job_id[:8]} is saved but not queued: {exc} "
                    f"Run `exmado jobs start {job_id[:8]}` once Redis is up."
                ) from None
        return get_job(job_id)

    # -- running ------------------------------------------------------------------------------

    def start(self, job_id: str) -> JobDetail:
        """Queue a PENDING job for the workers (again, if Redis lost it)."""
        job_id = resolve_job_id(job_id)
        job = Job.get_by_id(job_id)
        if job.status != S.PENDING:
            raise TransitionError(
                f"Job {job_id[:8]} is {job.status}; only a PENDING job can be started."
            )
        check_output_folder(Path(job.output_dir))
        self._enqueue(job_id)
        return get_job(job_id)

    def _enqueue(self, job_id: str) -> None:
        self.queue.enqueue_run(job_id)
        Job.update(
            queued_at=utcnow(), wait_reason="waiting for a worker", started_by=str(self.actor)
        ).where(Job.id == job_id).execute()
        record_event(job_id, f"Queued for the workers by {self.actor}.")

    def pause(self, job_id: str) -> JobDetail:
        """Pause now when no worker holds the job, else ask the worker to stop."""
        job_id = resolve_job_id(job_id)
        if self._move_unheld(job_id, S.PAUSED, "Paused", wait_reason="paused"):
            return get_job(job_id)
        return self._request(job_id, Control.PAUSE, "paused")

    def resume(self, job_id: str) -> JobDetail:
        """PAUSED → RUNNING; a worker continues at the first unfinished row."""
        job_id = resolve_job_id(job_id)
        transition(
            job_id,
            S.RUNNING,
            only_from=frozenset({S.PAUSED}),
            control=None,
            wait_reason="waiting for a worker",
            last_error="",  # what paused it (a full disk) was seen to
            event=Event(f"Resumed by {self.actor}."),
        )
        self.queue.enqueue_run(job_id)
        return get_job(job_id)

    def cancel(self, job_id: str) -> JobDetail:
        """Cancel now when no worker holds the job, else ask the worker to stop."""
        job_id = resolve_job_id(job_id)
        try:
            transition(
                job_id,
                S.CANCELLED,
                only_from=frozenset({S.PENDING, S.PAUSED}),
                control=None,
                wait_reason="",
                event=Event(f"Cancelled by {self.actor}."),
            )
        except TransitionError:
            if not self._move_unheld(job_id, S.CANCELLED, "Cancelled", wait_reason=""):
                return self._request(job_id, Control.CANCEL, "cancelled")
        return get_job(job_id)

    def _move_unheld(self, job_id: str, target: JobStatus, verb: str, wait_reason: str) -> bool:
        """Move an active job no worker holds (handed back to wait for a retry, or for a worker
        or a slot): nobody would hear a request until its message comes back, minutes later.
        False when a worker holds it (or it is not active): then the request is the way."""
        text = f"{verb} by {self.actor} while no worker held it; unfinished rows stay pending."
        try:
            transition(
                job_id,
                target,
                only_from=ACTIVE,
                where=Job.worker == "",
                control=None,
                wait_reason=wait_reason,
                event=Event(text),
            )
        except TransitionError:
            return False
        return True

    def _request(self, job_id: str, action: Control, verb: str) -> JobDetail:
        """Ask the worker holding an active job to pause or cancel it."""
        job_id = resolve_job_id(job_id)
        asked = (
            Job.update(control=action, updated_at=utcnow())
            .where((Job.id == job_id) & Job.status.in_(ACTIVE))
            .execute()
        )
        if asked != 1:
            status = Job.get_by_id(job_id).status
            raise TransitionError(
                f"Job {job_id[:8]} is {status}; only a running job can be {verb}."
            )
        record_event(job_id, f"{action.capitalize()} requested by {self.actor}.")
        return get_job(job_id)

    def retry(self, job_id: str) -> JobDetail:
        """Queue a finished job again; only rows that did not succeed run again, and rows that
        failed when the workbook was read keep their sentence."""
        job_id = resolve_job_id(job_id)
        kept = self._refuse_a_retry_with_nothing_to_run(job_id)
        stay = f"; {kept} that failed when the workbook was read stay failed" if kept else ""
        # The rows first, so the move's event can count them; a refused move undoes them.
        with database.atomic():
            reset = (
                JobRow.update(status=RowStatus.PENDING, error="", updated_at=utcnow())
                .where(_rows_to_retry(job_id))
                .execute()
            )
            transition(
                job_id,
                S.PENDING,
                only_from=RETRYABLE,
                control=None,
                last_error="",
                finished_at=None,
                wait_reason="waiting for a worker",
                event=Event(f"Retry by {self.actor}: {reset} row(s) will run again{stay}."),
            )
        self._enqueue(job_id)
        return get_job(job_id)

    def _refuse_a_retry_with_nothing_to_run(self, job_id: str) -> int:
        """How many rows failed at import; refuse when they are all a run would find left."""
        rows = JobRow.select().where(JobRow.job == job_id)
        kept = rows.where(FAILED_AT_IMPORT).count()
        retryable = Job.get_by_id(job_id).status in RETRYABLE  # else `transition` says why
        if kept and retryable and not JobRow.select().where(_rows_to_retry(job_id)).exists():
            raise TransitionError(
                f"Job {job_id[:8]} has nothing to retry: its {kept} failed row(s) failed when "
                "the workbook was read (an empty key or an Excel error cell), which another "
                "run cannot change; fix the workbook and create the job again."
            )
        return kept

    def fail(self, job_id: str, reason: str = "") -> JobDetail:
        """An operator's verdict on a job known to be dead."""
        job_id = resolve_job_id(job_id)
        text = f"Marked failed by {self.actor}{': ' + reason if reason else ''}."
        transition(
            job_id,
            S.FAILED,
            control=None,
            last_error=text,
            wait_reason="",
            event=Event(text, "error"),
        )
        return get_job(job_id)

    def terminate(self, job_id: str, reason: str = "") -> JobDetail:
        """CANCELLED now, whatever holds the job; `control = terminate` makes its worker drop it."""
        job_id = resolve_job_id(job_id)
        text = f"Terminated by {self.actor}" + (f": {reason}" if reason else "") + "."
        transition(
            job_id,
            S.CANCELLED,
            control=Control.TERMINATE,
            worker="",
            wait_reason="",
            last_error=text,
            event=Event(f"{text} Its worker drops it; finished files stay.", "warning"),
        )
        return get_job(job_id)

    def requeue_unfinished(self, fresh_s: float = 0, held: Collection[str] = ()) -> list[str]:
        """Send a message for every job that should be queued or running: Redis may have lost it.

        With `fresh_s` (the watchdog passes the takeover age), a job whose worker beat its heart
        in the last `fresh_s` seconds is left alone (it is in hand: `liveness.hold.unheld`). A job
        that gets a second message anyway keeps its worker, and the extra message is dropped
        (slot lease held, or the store's owner check): safe at any time. A job in `held`
        (its message is still in Redis) is not lost and is left alone.
        """
        active = Job.status.in_(ACTIVE)
        if fresh_s:
            active &= unheld(fresh_s)
        queued = (Job.status == S.PENDING) & Job.queued_at.is_null(False)
        found = Job.select(Job.id).where(active | queued).order_by(Job.created_at)
        ids = [j.id for j in found if j.id not in held]
        for job_id in ids:
            self.queue.enqueue_run(job_id)
            record_event(job_id, "Queued again from the store (queue recovery).")
        return ids

    def delete(self, job_id: str, keep_files: bool = True) -> None:
        """Remove a job that no worker holds, its private workbook and, if asked, its files."""
        job_id = resolve_job_id(job_id)
        job = Job.get_by_id(job_id)
        if job.status not in FINAL and job.status != S.PENDING:
            raise TransitionError(
                f"Job {job_id[:8]} is {job.status}; cancel it before deleting it."
            )
        with Job._meta.database.atomic():
            for model in (JobEvent, JobFile, JobRow):
                delete_rows(model, model.job == job_id)
            delete_rows(Job, Job.id == job_id)
        audit_line(
            self.settings.data_dir, f"Deleted job {job_id} ({visible(job.name)}) by {self.actor}."
        )
        if job.workbook_path:  # a query job has no workbook copy
            shutil.rmtree(Path(job.workbook_path).parent, ignore_errors=True)
        if not keep_files:
            shutil.rmtree(job.output_dir, ignore_errors=True)

    def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        poll_s: float = 0.5,
        progress: Callable[[JobDetail], None] | None = None,
    ) -> JobDetail:
        """Block until the job reaches a final state; raise TimeoutError past `timeout`.
        `progress` sees the job at every look until then."""
        job_id = resolve_job_id(job_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = get_job(job_id)
            if job.status in FINAL:
                return job
            if progress is not None:
                progress(job)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"Job {job_id[:8]} is still {job.status} after {timeout:g} s.")
            time.sleep(poll_s)
