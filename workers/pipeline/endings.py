"""How a run of a job ends: the outcome that stopped it, and the job's move that follows.

A run ends by a `RunOutcome` (every row had its turn, or a `Stop` raised by the control read,
the clock, or the heartbeat and lease of whoever owns the job) or by an exception; the runner
hands either to its `Ending`: `finish` ends the job by the outcome, `after_error` by the
exception (the ladder: what passes hands the job back to be retried, a blocked folder pauses
it, anything else fails it). Each move writes its event in the same call
(`transitions.transition`) and lets go of the job; an ended job has its report first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Unpack, assert_never

import peewee
from dramatiq.middleware import Shutdown, TimeLimitExceeded

from exmado_tui.config.settings import mask_url
from exmado_tui.errors import (
    BlockedFolderError,
    PermanentError,
    ProfileError,
    RetryableError,
    StoreIdentityError,
    TransitionError,
)
from exmado_tui.files import is_no_space, no_space
from exmado_tui.formatting import counted, span, visible
from exmado_tui.job.liveness.hold import Hold
from exmado_tui.job.status import ACTIVE, ROW_ERRORS, Control, Event, JobStatus
from exmado_tui.job.transitions import JobColumns, record_event, transition
from exmado_tui.output.report import write_report
from exmado_tui.store.db import (
    drop_connections,
    is_write_refused,
    store_error,
    store_full,
    write_refused,
)
from exmado_tui.store.identity import Opened, check_still
from exmado_tui.store.models import Job, JobRow
from workers import metrics
from workers.pipeline import outage, progress
from workers.runtime import Runtime

log = logging.getLogger("exmado.pipeline")
S = JobStatus
RUNNING = frozenset({S.RUNNING})


class RunOutcome(Enum):
    """Why a run of a job ended; its `Ending` ends the job accordingly (`Ending.finish`)."""

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


def requested_stop(job_id: str) -> RunOutcome | None:
    """How the store asks the run to stop (`Job.control`, or the job ended under it), if it does."""
    job = Job.select(Job.status, Job.control).where(Job.id == job_id).first()
    if job is None or job.status.is_final or job.control is Control.TERMINATE:
        return RunOutcome.TERMINATED
    if job.control is Control.CANCEL:
        return RunOutcome.CANCELLED
    if job.control is Control.PAUSE and job.status is S.RUNNING:
        return RunOutcome.PAUSED
    return None


def failure_sentence(exc: PermanentError) -> str:
    """The error's sentence; for a profile's, that a retry would run the same snapshot."""
    if not isinstance(exc, ProfileError):
        return str(exc)
    return (
        f"{str(exc).rstrip('.')}. The job keeps the profile it was created with, so a retry "
        "would fail the same way: fix the profile, then create a new job from the workbook "
        "(`exmado jobs create WORKBOOK --profile NAME`)."
    )


@dataclass
class Ending:
    """Ends one run's job: by its outcome (`finish`) or by what stopped it (`after_error`).

    `keep_alive` beats the job's heart while a long report is written; `started` is when the
    run began (`time.monotonic`), for the sentence of a run that timed out.
    """

    job_id: str
    runtime: Runtime
    hold: Hold
    store: Opened | None
    started: float
    last_attempt: bool
    keep_alive: Callable[[], None]

    # -- by the outcome -------------------------------------------------------------------

    def finish(self, outcome: RunOutcome) -> None:
        """End the job the way the run ended (the latest request wins over a pause)."""
        check_still(self.store)
        match self._latest_request(outcome):
            case RunOutcome.ENDED:
                self._complete()
            case RunOutcome.PAUSED:
                self._pause()
            case RunOutcome.CANCELLED:
                self._cancel()
            case RunOutcome.TERMINATED:
                self._drop()
            case RunOutcome.TIMED_OUT:
                self.fail(self._timeout_sentence())
            case RunOutcome.LOST:
                log.warning("Job %s was taken over by another worker; this one stops.", self.job_id)
            case unknown:
                assert_never(unknown)

    def _latest_request(self, outcome: RunOutcome) -> RunOutcome:
        """A cancel or terminate asked while a pause let its rows finish overrides the pause."""
        if outcome is not RunOutcome.PAUSED:
            return outcome
        return requested_stop(self.job_id) or outcome

    def _complete(self) -> None:
        """Every row had its turn: COMPLETED, or COMPLETED_WITH_ERRORS if a row did not succeed."""
        counts = progress.recount(self.job_id)
        job = Job.get_by_id(self.job_id)
        errors = sum(counts.get(s, 0) for s in ROW_ERRORS)
        finished = Event(
            f"Finished: {job.found_rows:,} found, {job.not_found_rows:,} not found, "
            f"{job.ambiguous_rows:,} ambiguous, {job.failed_rows:,} failed, "
            f"{job.skipped_rows:,} skipped; {counted(job.files_count, 'file')}.",
            "warning" if errors else "info",
        )
        target = S.COMPLETED_WITH_ERRORS if errors else S.COMPLETED
        self.report_then_move(target, RUNNING, finished)

    def _pause(self) -> None:
        paused = Event(f"Paused: {self._rows_done()}.")
        self._move(S.PAUSED, RUNNING, paused, wait_reason="paused")

    def _cancel(self) -> None:
        cancelled = Event(f"Cancelled: {self._rows_done()}; unfinished rows stay pending.")
        self.report_then_move(S.CANCELLED, ACTIVE, cancelled)

    def _drop(self) -> None:
        """Terminated (or ended) under the run: the store's state stands; the report says it."""
        record_event(self.job_id, f"Worker {self.runtime.worker_id} dropped the job.", "warning")
        self._report()

    def _rows_done(self) -> str:
        """`1,234 of 5,000 rows done`, counted afresh."""
        progress.recount(self.job_id)
        return done_of_total(Job.get_by_id(self.job_id))

    def _timeout_sentence(self) -> str:
        return (
            f"Job stopped after {span(time.monotonic() - self.started)}: "
            f"{done_of_total(Job.get_by_id(self.job_id))}; "
            f"`exmado jobs retry {self.job_id[:8]}` continues."
        )

    # -- by what stopped the run ----------------------------------------------------------

    def after_error(
        self, exc: Exception | Shutdown | TimeLimitExceeded, out_since: datetime | None
    ) -> None:
        """End the job by what stopped the run, the first that fits: a passing failure hands
        it back (and re-raises, so the message is retried), a blocked folder pauses it, a
        worker shutting down queues it again, anything else fails it. A store deleted or
        swapped under the run is raised again: there is nowhere right to record it.
        `out_since`: when the DocuWare outage the job's events told began, if it lasts."""
        match exc:
            case StoreIdentityError():
                raise exc
            case RetryableError():
                self._transient(exc, out_since)
            case BlockedFolderError():
                self._stop_for_space(exc)
            case PermanentError():
                self.fail(failure_sentence(exc))
            case Shutdown():
                self._requeue_on_shutdown()
            case TimeLimitExceeded():
                self.fail(self._timeout_sentence())
            case peewee.PeeweeException():
                self._store_failed(exc)
            case _ if is_no_space(exc):  # the workbook's copy in the data folder, the report…
                self._stop_for_space(no_space(_folder_of(exc, self.runtime.settings.data_dir)))
            case _:
                self._unexpected(exc)

    def _store_failed(self, exc: peewee.PeeweeException) -> None:
        """A store locked past its busy timeout, a database restarting, files refusing writes:
        it passes. A missing table or the like would fail every attempt the same way: say it
        now. A full disk pauses the job."""
        url = self.runtime.settings.database_url
        if is_no_space(exc):
            self._stop_for_space(store_full(url))
            return
        passing = store_error(exc, url) or write_refused(exc, url)
        if passing is None:
            self._unexpected(exc)
            return
        drop_connections()  # the hand-back must not use the connection that just failed
        self._transient(passing, None)  # the store's failure, not DocuWare's

    def _unexpected(self, exc: BaseException) -> None:
        log.exception("Job %s failed unexpectedly", self.job_id[:8])
        self.fail(f"Unexpected error: {type(exc).__name__}: {exc}.")

    def fail(self, message: str) -> None:
        message = visible(message)  # a file name or key may hold ESC; the sentence is shown
        failed = Event(message, "error")
        active = ACTIVE | {S.PAUSED}
        if JobRow.select().where(JobRow.job == self.job_id).exists():
            progress.recount(self.job_id)
            still = (Job.id == self.job_id) & Job.status.in_(active)
            Job.update(last_error=message).where(still).execute()
            self.report_then_move(S.FAILED, active, failed, last_error=message)
        else:
            self._move(S.FAILED, active, failed, last_error=message)

    def _stop_for_space(self, exc: BlockedFolderError) -> None:
        """Stop at once: every next write there would fail the same way (a full disk, a folder
        not writable). PAUSED (FAILED while validating, which cannot pause) with a sentence;
        rows in flight stay pending, so resuming after the fix continues at the first of them."""
        log.error("Job %s: %s.", self.job_id[:8], exc)
        try:
            self._pause_for_space(exc)
        except peewee.PeeweeException as again:
            # The store's own disk is full: nothing can be recorded. The job stays held by no
            # live run; the watchdog hands it over once the store can be written again.
            log.error("Job %s: cannot record the stop either (%s).", self.job_id[:8], again)

    def _pause_for_space(self, exc: BlockedFolderError) -> None:
        if Job.get_by_id(self.job_id).status == S.VALIDATING:
            self.fail(f"{exc}; {exc.fix}, then `exmado jobs retry {self.job_id[:8]}`.")
            return
        sentence = (
            f"{exc}: paused with {self._rows_done()}; {exc.fix}, "
            f"then `exmado jobs resume {self.job_id[:8]}`."
        )
        running = (Job.id == self.job_id) & (Job.status == S.RUNNING)
        Job.update(last_error=sentence).where(running).execute()
        self._report(S.PAUSED)  # on that full disk it may fail too: an event then says so
        paused = Event(sentence, "error")
        reason = f"paused: {exc.reason}"
        self._move(
            S.PAUSED, RUNNING, paused, wait_reason=reason, last_error=sentence, attention=sentence
        )

    def _transient(self, exc: RetryableError, out_since: datetime | None) -> None:
        if self.last_attempt:
            self.fail(self._gave_up_sentence(exc, out_since))
            return
        try:
            self.hold.hand_back(f"will try again: {exc}")
            self._tell_hand_back(exc, out_since)
        except peewee.OperationalError as again:
            if not is_write_refused(again):
                raise
            # Not recorded: the message is retried, or the watchdog hands the job over once
            # the store takes writes (this run is over: nobody beats its heart).
            log.warning("Job %s: %s; the job will try again.", self.job_id[:8], exc)
        raise exc

    def _gave_up_sentence(self, exc: RetryableError, out_since: datetime | None) -> str:
        if not outage.is_outage(exc):
            return f"{str(exc).rstrip('.')}; gave up after several attempts."
        log.warning("Job %s gives up: %s", self.job_id[:8], exc)  # its sentence names no row
        server = mask_url(self.runtime.settings.docuware.url)
        return outage.gave_up_sentence(server, out_since, self.job_id)

    def _tell_hand_back(self, exc: RetryableError, out_since: datetime | None) -> None:
        """The hand-back in the job's events; an outage's once, however many runs it lasts
        (`out_since`: the run knows whether it was told and not yet ended)."""
        if not outage.is_outage(exc):
            record_event(self.job_id, f"{str(exc).rstrip('.')}; the job will try again.", "warning")
        elif out_since is None:
            record_event(self.job_id, outage.hand_back_sentence(exc), "warning")
        else:
            log.info("Job %s: %s; DocuWare is not back yet.", self.job_id[:8], exc)

    def _requeue_on_shutdown(self) -> None:
        self.hold.hand_back("waiting for a worker")
        self.runtime.queue.enqueue_run(self.job_id)
        worker = self.runtime.worker_id
        record_event(self.job_id, f"Worker {worker} is shutting down; job queued again.")

    # -- the move and the report ----------------------------------------------------------

    def report_then_move(
        self,
        target: JobStatus,
        only_from: frozenset[JobStatus],
        event: Event,
        **columns: Unpack[JobColumns],
    ) -> bool:
        """Write the report as of `target`, then move there: a job seen as ended has its
        report. Should another move win (a terminate, an operator's fail), write the report
        again with the status the job did reach."""
        self._report(target)
        moved = self._move(target, only_from, event, **columns)
        if not moved:
            self._report()
        return moved

    def _move(
        self,
        target: JobStatus,
        only_from: frozenset[JobStatus],
        event: Event,
        *,
        attention: str = "",
        **columns: Unpack[JobColumns],
    ) -> bool:
        """Move the job with its event, letting go of it; False (logged) when another move won."""
        let_go: JobColumns = {"control": None, "worker": "", "wait_reason": "", **columns}
        try:
            transition(
                self.job_id, target, only_from=only_from, event=event, attention=attention, **let_go
            )
        except TransitionError as exc:
            log.warning("Job %s: %s", self.job_id[:8], exc)
            return False
        metrics.job_finished(target)
        return True

    def _report(self, status: JobStatus | None = None) -> None:
        try:
            write_report(self.job_id, self.runtime.settings.zone, status, self.keep_alive)
        except Exception as exc:
            log.exception("Report of job %s failed", self.job_id[:8])
            record_event(self.job_id, f"The report could not be written: {exc}.", "warning")


def done_of_total(job: Job) -> str:
    return f"{job.done_rows:,} of {job.total_rows:,} rows done"


def _folder_of(exc: BaseException, default: Path) -> Path:
    """The folder of the file an OSError names, else `default`."""
    name = getattr(exc, "filename", None)
    return Path(name).parent if isinstance(name, str) else default
