"""Running one job from the actor's thread: claim, validate, feed rows, honour control, end.

The actor's thread owns the job store. It feeds pending rows (in row order, so a resumed job
continues at its first unfinished row) to the row engine on the process's event loop, keeps
`WINDOW_PER_REQUEST` x `row_concurrency` rows outstanding, and writes results back in
batches. Between batches it beats the job's heart and renews its slot lease (its `Hold`:
`exmado_tui/job/ownership.py` has the rule), reads `Job.control` every `CONTROL_S` and watches the
clock:

* pause / cancel — no new rows; rows in flight get `STOP_GRACE_S` to finish, the rest are
  cancelled (their `.part` files vanish) and stay pending; PAUSED gives the slot back.
* terminate, or the job taken by someone else — stop at once; the store's state wins.
* `jobs.job_timeout_s` for this run — FAILED with a sentence saying how far it got.
* transient failures — a row failing for a passing reason runs once more at the end; many in
  a row mean DocuWare is down: the job is handed back and the message retried later.

How the run ended is a `RunOutcome` (`outcome.py`); `_finish` ends the job by it, each move
writing its event in the same call (`transitions.transition`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import queue
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar, assert_never

import peewee
from dramatiq.middleware import Shutdown, TimeLimitExceeded

from exmado_tui.config.profiles import Profile, check_profile
from exmado_tui.config.settings import mask_url
from exmado_tui.errors import (
    BlockedFolderError,
    NotWritableError,
    PermanentError,
    ProfileError,
    RetryableError,
    StoreIdentityError,
    StoreUnavailableError,
    TransitionError,
)
from exmado_tui.files.diskspace import is_no_space, no_space, store_full
from exmado_tui.files.writable import output_folder_problem
from exmado_tui.formatting import visible
from exmado_tui.job.ownership import Hold, claim
from exmado_tui.job.query_source import QuerySource, query_of
from exmado_tui.job.status import ACTIVE, ROW_ERRORS, Control, Event, JobStatus
from exmado_tui.job.transitions import record_event, transition
from exmado_tui.output.report import remove_report_leftovers, write_report
from exmado_tui.store.db import drop_connections, is_write_refused, store_error, write_refused
from exmado_tui.store.identity import check_still, opened_store
from exmado_tui.store.models import Job, JobRow
from workers import metrics
from workers.pipeline import progress
from workers.pipeline.files import FileRecord, Placer, ZipLimits, remove_partials
from workers.pipeline.ingest import already_ingested, ingest
from workers.pipeline.ingest_query import QueryReader, ingest_query
from workers.pipeline.outcome import RunOutcome, Stop
from workers.pipeline.rows import Inbox, RowEngine, RowResult, RowTask
from workers.runtime import Runtime

log = logging.getLogger("exmado.pipeline")
S = JobStatus
CONTROL_S = 0.25
STOP_GRACE_S = 0.5
STORE_RETRY_S = 1.0  # how often a run waiting for its store to take writes tries again
CHUNK = 500
# Rows outstanding per request in flight. A row spends one latency waiting in its batch search
# and one downloading, and batches form while the previous one is out: with only 2x the
# engine's workers waited for rows (64 % of the bound at 50 ms in bench_pipeline, 88 % at 4x).
WINDOW_PER_REQUEST = 4
RUNNING = frozenset({S.RUNNING})
T = TypeVar("T")


def run_job(job_id: str, runtime: Runtime, *, token: str, last_attempt: bool = False) -> None:
    """Run the job if it is ours to run; return when it ends, pauses or is handed back."""
    status = _claim(job_id, runtime)
    if status is None:
        log.info("Job %s is not ours to run (ended, paused or held elsewhere).", job_id[:8])
        return
    JobRun(job_id, runtime, token, last_attempt).run(status)


def _claim(job_id: str, runtime: Runtime) -> JobStatus | None:
    """`claim`; a store locked, away or on a full disk raises a RetryableError, so the
    message is tried again later instead of being dropped with the job left PENDING."""
    url = runtime.settings.database_url
    try:
        return claim(job_id, runtime.worker_id, runtime.clocks)
    except peewee.PeeweeException as exc:
        passing = store_error(exc, url) or write_refused(exc, url)
        if is_no_space(exc):
            passing = StoreUnavailableError(f"{store_full(url)}; the job will try again.")
        if passing is None:
            raise
        log.warning("Job %s not taken: %s", job_id[:8], passing)
        raise passing from exc


def job_profile(job: Job) -> Profile:
    config = job.config or {}
    if not config.get("cabinet") or not config.get("columns"):
        raise ProfileError(
            f"Job {job.id[:8]} has no cabinet or [columns] in its configuration; "
            "create it again with --profile."
        )
    profile = Profile.from_dict({"name": job.profile or "job", **config})
    # Jobs stored before `create` checked their settings may hold any value: refuse them here,
    # once, rather than fail each row (or, unpack_zip = "no", run with the wrong setting).
    check_profile(profile, f"Job {job.id[:8]}'s stored settings")
    return profile


def failure_sentence(exc: PermanentError) -> str:
    """The error's sentence; for a profile's, that a retry would run the same snapshot."""
    if not isinstance(exc, ProfileError):
        return str(exc)
    return (
        f"{str(exc).rstrip('.')}. The job keeps the profile it was created with, so a retry "
        "would fail the same way: fix the profile, then create a new job from the workbook "
        "(`exmado jobs create WORKBOOK --profile NAME`)."
    )


def span(seconds: float) -> str:
    """`45 s`, `12 min`, `2 h`, `2.5 h`."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{round(seconds / 3600, 1):g} h"


class JobRun:
    def __init__(self, job_id: str, runtime: Runtime, token: str, last_attempt: bool) -> None:
        self.job_id = job_id
        self.runtime = runtime
        self.jobs = runtime.settings.jobs
        self.worker = runtime.worker_id
        self.hold = Hold(job_id, self.worker, runtime.slots, token)
        self.last_attempt = last_attempt
        self.started = time.monotonic()
        self.next_control = 0.0
        self.beat_s = runtime.clocks.beat_s
        self.next_beat = time.monotonic() + self.beat_s
        self.store = opened_store()  # the run's rows are in this one, whatever comes after

    # -- the run ------------------------------------------------------------------------------

    def run(self, status: JobStatus) -> None:
        """Run to the end, a pause or a hand-back; a store deleted or swapped under the run
        stops it at once, recording nothing more (there is nowhere right to record it)."""
        try:
            self._run(status)
        except StoreIdentityError as exc:
            log.error("Job %s stops taking rows: %s", self.job_id[:8], exc)

    def _run(self, status: JobStatus) -> None:
        try:  # from the claim on: a worker told to stop here still hands the job back
            job = Job.get_by_id(self.job_id)
            record_event(self.job_id, f"Run {job.runs} started on {self.worker}.")
            self._name_server()
            profile = job_profile(job)
            if status is S.VALIDATING:
                self._validate(job, profile)
            outcome = self._rows(profile)
        except Stop as stop:
            outcome = stop.outcome
        except StoreIdentityError:
            raise
        except RetryableError as exc:
            self._transient(exc)
            return
        except BlockedFolderError as exc:
            self._stop_for_space(exc)
            return
        except PermanentError as exc:
            self._fail(failure_sentence(exc))
            return
        except Shutdown:
            self._requeue_on_shutdown()
            return
        except TimeLimitExceeded:
            self._fail(self._timeout_sentence())
            return
        except peewee.PeeweeException as exc:
            if is_no_space(exc):
                self._stop_for_space(store_full(self.runtime.settings.database_url))
                return
            # A store locked past its busy timeout, a database restarting, files refusing
            # writes: it passes. A missing table or the like would fail every attempt the same
            # way: say it now.
            url = self.runtime.settings.database_url
            passing = store_error(exc, url) or write_refused(exc, url)
            if passing is None:
                self._unexpected(exc)
                return
            drop_connections()  # the hand-back must not use the connection that just failed
            self._transient(passing)
            return
        except Exception as exc:
            if is_no_space(exc):  # the workbook's copy in the data folder, the report…
                self._stop_for_space(no_space(_folder_of(exc, self.runtime.settings.data_dir)))
                return
            self._unexpected(exc)
            return
        self._finish(outcome)

    def _name_server(self) -> None:
        """The DocuWare server this run searches, for the manifest (password hidden)."""
        server = mask_url(self.runtime.settings.docuware.url)
        Job.update(docuware_url=server).where(Job.id == self.job_id).execute()

    def _unexpected(self, exc: Exception) -> None:
        log.exception("Job %s failed unexpectedly", self.job_id[:8])
        self._fail(f"Unexpected error: {type(exc).__name__}: {exc}.")

    def _validate(self, job: Job, profile: Profile) -> None:
        if not already_ingested(job):
            query = query_of(job.config, f"Job {job.id[:8]}'s stored query")
            self._read_query(job, query) if query else self._read_workbook(job, profile)
        self._check_control()
        transition(self.job_id, S.RUNNING, only_from=frozenset({S.VALIDATING}), wait_reason="")

    def _read_workbook(self, job: Job, profile: Profile) -> None:
        settings = self.runtime.settings
        got = ingest(job, profile, settings.data_dir, self._between_chunks, settings.workbooks)
        where = f"sheet {got.sheet!r}, " if got.sheet else ""
        record_event(
            self.job_id,
            f"Workbook read: {got.total:,} rows ({where}header in row {got.header_row}); "
            f"{got.bad} with errors, {got.duplicates} duplicate keys.",
        )

    def _read_query(self, job: Job, query: QuerySource) -> None:
        """The query's documents become the job's rows, read in ranges of document ids."""
        reader = QueryReader(self._awaiting(self.runtime.client()), query)
        got = ingest_query(
            job, lambda after: self._awaiting(reader.ids_after(after)), self._between_chunks
        )
        counted = "" if query.counted is None else f"; {query.counted:,} counted at creation"
        record_event(
            self.job_id,
            f"Query read: {got.total:,} documents in {got.ranges:,} ranges of document ids "
            f"(at most {reader.page:,} a request{counted}).",
        )

    def _between_chunks(self) -> None:
        self._tick(time.monotonic())

    # -- rows ---------------------------------------------------------------------------------

    def _rows(self, profile: Profile) -> RunOutcome:
        job = Job.get_by_id(self.job_id)
        if problem := output_folder_problem(Path(job.output_dir)):  # before any row is searched
            raise NotWritableError(
                f"The output folder {job.output_dir} {problem}", folder=job.output_dir
            )
        if job.runs > 1:
            self._remove_leftovers(Path(job.output_dir))
        loop = self.runtime.loop
        results: queue.Queue[RowResult] = queue.Queue()
        known = progress.known_files(job.id)  # here: the loop thread keeps no store connection
        engine = self._awaiting(self._engine(job, profile, known, results))
        self._awaiting(engine.prepare())
        inbox: Inbox = loop.run(_new_queue())
        future = loop.submit(engine.serve(inbox))
        feed = _Feed(self.job_id, loop, inbox, self.jobs.row_concurrency * WINDOW_PER_REQUEST)
        try:
            return self._drive(feed, results, future)
        finally:
            future.cancel()
            concurrent.futures.wait([future], timeout=5)
            self._flush_leftovers(results, engine.throttling.sentences(ended=True))

    def _remove_leftovers(self, folder: Path) -> None:
        """What a run killed mid-write left: its downloads' and its report's temporary files."""
        removed = remove_partials(folder, self.job_id) + remove_report_leftovers(folder)
        if removed:
            record_event(self.job_id, f"Removed {removed} unfinished file(s) of a past run.")

    def _awaiting(self, coro: Coroutine[Any, Any, T]) -> T:
        """`coro`'s result, beating the heart and hearing pause/cancel while it runs.

        Signing in and finding the cabinet can wait minutes on a throttled DocuWare: without
        beats another worker would take the job over, and a cancel would go unheard.
        """
        future = self.runtime.loop.submit(coro)
        try:
            while not _finished(future, CONTROL_S):
                self._tick(time.monotonic())
        except BaseException:
            future.cancel()
            raise
        return future.result()

    async def _engine(
        self,
        job: Job,
        profile: Profile,
        known: dict[str, list[FileRecord]],
        results: queue.Queue[RowResult],
    ) -> RowEngine:
        client = await self.runtime.client()
        limits = ZipLimits(self.jobs.unzip_member_max_mb, self.jobs.unzip_total_max_mb)
        placer = Placer(
            client, profile, Path(job.output_dir), known, job.id, limits, self.jobs.max_document_mb
        )
        return RowEngine(client, profile, placer, results, self.jobs.row_concurrency)

    def _drive(
        self, feed: _Feed, results: queue.Queue[RowResult], future: concurrent.futures.Future[None]
    ) -> RunOutcome:
        batch: list[RowResult] = []
        streak_limit = max(10, 2 * self.jobs.row_concurrency)
        try:
            stop = self._drive_until_done(feed, results, future, batch, streak_limit)
        except BaseException:
            self._save_quietly(batch)  # rows that finished stay finished, whatever ends the run
            raise
        self._record(batch)
        return stop

    def _drive_until_done(
        self,
        feed: _Feed,
        results: queue.Queue[RowResult],
        future: concurrent.futures.Future[None],
        batch: list[RowResult],
        streak_limit: int,
    ) -> RunOutcome:
        """Feed rows and collect results until done or stopped; `batch` holds what is unsaved."""
        next_flush = time.monotonic() + progress.FLUSH_S
        stop: RunOutcome | None = None
        deadline = 0.0
        while True:
            now = time.monotonic()
            if stop is None:
                feed.top_up()
                if feed.finished:
                    break
            elif feed.outstanding == 0 or now >= deadline:
                break
            if future.done():
                future.result()  # the engine stopped: raise what stopped it
                raise RuntimeError("The row engine stopped before the rows were done.")
            for result in _collect(results, 0.05):
                feed.returned(result)
                if feed.streak >= streak_limit:
                    raise RetryableError(
                        f"DocuWare failed {feed.streak} rows in a row for a passing reason "
                        f"(last: {result.error})"
                    )
                if not feed.deferred_now(result):
                    batch.append(result)
            if len(batch) >= progress.FLUSH_ROWS or (batch and now >= next_flush):
                self._record(batch)
                batch.clear()
                next_flush = now + progress.FLUSH_S
            if stop is None:
                try:
                    self._tick(now)
                except Stop as asked:
                    stop = asked.outcome
                    deadline = now + (0 if stop.stops_at_once else STOP_GRACE_S)
        return RunOutcome.ENDED if stop is None else stop

    def _flush_leftovers(self, results: queue.Queue[RowResult], events: list[Event]) -> None:
        self._save_quietly([r for r in _collect(results, 0) if not r.retryable], events)

    def _save_quietly(self, done: list[RowResult], events: Sequence[Event] = ()) -> None:
        try:
            check_still(self.store)
            progress.flush(self.job_id, done, events)
        except StoreIdentityError as exc:
            log.error("Job %s: %d finished rows not recorded: %s", self.job_id[:8], len(done), exc)
        except Exception:
            log.exception("Could not record %d finished rows of job %s", len(done), self.job_id)

    def _record(self, done: list[RowResult]) -> None:
        """Write `done` back. While the store's files refuse writes (made immutable, a file
        system read-only) the run waits here, the results kept and no new row taken, until they
        take writes or the run's time is out; a deleted or swapped store stops it."""
        refused_at = 0.0
        while True:
            check_still(self.store)
            try:
                progress.flush(self.job_id, done)
                break
            except peewee.OperationalError as exc:
                now = time.monotonic()
                if not is_write_refused(exc) or now - self.started >= self.jobs.job_timeout_s:
                    raise
                if not refused_at:
                    refused_at = now
                    log.warning(self._waiting_sentence(exc, len(done)))
                time.sleep(STORE_RETRY_S)
        if refused_at:
            waited = span(time.monotonic() - refused_at)
            log.warning(
                "Job %s: the job store takes writes again after %s.", self.job_id[:8], waited
            )

    def _waiting_sentence(self, exc: Exception, rows: int) -> str:
        refused = write_refused(exc, self.runtime.settings.database_url)
        return (
            f"Job {self.job_id[:8]}: {str(refused).rstrip('.')}; its {rows} finished rows wait "
            f"and no new row is taken until it can (tried again every {STORE_RETRY_S:g} s)."
        )

    # -- heartbeat, control, clock ----------------------------------------------------------

    def _tick(self, now: float) -> None:
        if now >= self.next_control:
            self.next_control = now + CONTROL_S
            self._check_control()
        if now >= self.next_beat:
            self.next_beat = now + self.beat_s
            self._beat()
        if now - self.started >= self.jobs.job_timeout_s:
            raise Stop(RunOutcome.TIMED_OUT)

    def _check_control(self) -> None:
        job = Job.select(Job.status, Job.control).where(Job.id == self.job_id).first()
        if job is None or job.status.is_final or job.control is Control.TERMINATE:
            raise Stop(RunOutcome.TERMINATED)
        if job.control is Control.CANCEL:
            raise Stop(RunOutcome.CANCELLED)
        if job.control is Control.PAUSE and job.status is S.RUNNING:
            raise Stop(RunOutcome.PAUSED)

    def _beat(self) -> None:
        check_still(self.store)
        try:
            beaten = self.hold.beat()
        except peewee.OperationalError as exc:
            if not is_write_refused(exc):
                raise
            return  # nobody can write it, so nobody takes the job over: the next flush waits
        if not beaten:
            self._check_control()
            raise Stop(RunOutcome.LOST)
        if not self.hold.renew_lease():
            raise Stop(RunOutcome.LOST)

    def _keep_alive(self) -> None:
        """Beat the heart while the report is written: a long report is not a dead worker."""
        now = time.monotonic()
        if now >= self.next_beat:
            self.next_beat = now + self.beat_s
            self.hold.beat()

    # -- endings ------------------------------------------------------------------------------

    def _finish(self, outcome: RunOutcome) -> None:
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
                self._fail(self._timeout_sentence())
            case RunOutcome.LOST:
                log.warning("Job %s was taken over by another worker; this one stops.", self.job_id)
            case unknown:
                assert_never(unknown)

    def _latest_request(self, outcome: RunOutcome) -> RunOutcome:
        """A cancel or terminate asked while a pause let its rows finish overrides the pause."""
        if outcome is not RunOutcome.PAUSED:
            return outcome
        try:
            self._check_control()
        except Stop as stop:
            return stop.outcome
        return outcome

    def _complete(self) -> None:
        """Every row had its turn: COMPLETED, or COMPLETED_WITH_ERRORS if a row did not succeed."""
        counts = progress.recount(self.job_id)
        job = Job.get_by_id(self.job_id)
        errors = sum(counts.get(s, 0) for s in ROW_ERRORS)
        finished = Event(
            f"Finished: {job.found_rows:,} found, {job.not_found_rows:,} not found, "
            f"{job.ambiguous_rows:,} ambiguous, {job.failed_rows:,} failed, "
            f"{job.skipped_rows:,} skipped; {job.files_count:,} files.",
            "warning" if errors else "info",
        )
        target = S.COMPLETED_WITH_ERRORS if errors else S.COMPLETED
        self._report_then_move(target, RUNNING, finished)

    def _pause(self) -> None:
        paused = Event(f"Paused: {self._rows_done()}.")
        self._move(S.PAUSED, RUNNING, paused, wait_reason="paused")

    def _cancel(self) -> None:
        cancelled = Event(f"Cancelled: {self._rows_done()}; unfinished rows stay pending.")
        self._report_then_move(S.CANCELLED, ACTIVE, cancelled)

    def _drop(self) -> None:
        """Terminated (or ended) under the run: the store's state stands; the report says it."""
        record_event(self.job_id, f"Worker {self.worker} dropped the job.", "warning")
        self._report()

    def _rows_done(self) -> str:
        """`1,234 of 5,000 rows done`, counted afresh."""
        progress.recount(self.job_id)
        return _done_of_total(Job.get_by_id(self.job_id))

    def _move(
        self,
        target: JobStatus,
        only_from: frozenset[JobStatus],
        event: Event,
        **extra: Any,
    ) -> bool:
        """Move the job with its event, letting go of it; False (logged) when another move won."""
        values = {"control": None, "worker": "", "wait_reason": "", **extra}
        try:
            transition(self.job_id, target, only_from=only_from, event=event, **values)
        except TransitionError as exc:
            log.warning("Job %s: %s", self.job_id[:8], exc)
            return False
        metrics.job_finished(target)
        return True

    def _fail(self, message: str) -> None:
        message = visible(message)  # a file name or key may hold ESC; the sentence is shown
        failed = Event(message, "error")
        active = ACTIVE | {S.PAUSED}
        if JobRow.select().where(JobRow.job == self.job_id).exists():
            progress.recount(self.job_id)
            still = (Job.id == self.job_id) & Job.status.in_(active)
            Job.update(last_error=message).where(still).execute()
            self._report_then_move(S.FAILED, active, failed, last_error=message)
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
            self._fail(f"{exc}; {exc.fix}, then `exmado jobs retry {self.job_id[:8]}`.")
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

    def _transient(self, exc: RetryableError) -> None:
        if self.last_attempt:
            self._fail(f"{str(exc).rstrip('.')}; gave up after several attempts.")
            return
        try:
            self.hold.hand_back(f"will try again: {exc}")
            record_event(self.job_id, f"{str(exc).rstrip('.')}; the job will try again.", "warning")
        except peewee.OperationalError as again:
            if not is_write_refused(again):
                raise
            # Not recorded: the message is retried, or the watchdog hands the job over once
            # the store takes writes (this run is over: nobody beats its heart).
            log.warning("Job %s: %s; the job will try again.", self.job_id[:8], exc)
        raise exc

    def _requeue_on_shutdown(self) -> None:
        self.hold.hand_back("waiting for a worker")
        self.runtime.queue.enqueue_run(self.job_id)
        record_event(self.job_id, f"Worker {self.worker} is shutting down; job queued again.")

    def _timeout_sentence(self) -> str:
        return (
            f"Job stopped after {span(time.monotonic() - self.started)}: "
            f"{_done_of_total(Job.get_by_id(self.job_id))}; "
            f"`exmado jobs retry {self.job_id[:8]}` continues."
        )

    def _report_then_move(
        self, target: JobStatus, only_from: frozenset[JobStatus], event: Event, **extra: Any
    ) -> bool:
        """Write the report as of `target`, then move there: a job seen as ended has its
        report. Should another move win (a terminate, an operator's fail), write the report
        again with the status the job did reach."""
        self._report(target)
        moved = self._move(target, only_from, event, **extra)
        if not moved:
            self._report()
        return moved

    def _report(self, status: JobStatus | None = None) -> None:
        try:
            write_report(self.job_id, self.runtime.settings.zone, status, self._keep_alive)
        except Exception as exc:
            log.exception("Report of job %s failed", self.job_id[:8])
            record_event(self.job_id, f"The report could not be written: {exc}.", "warning")


class _Feed:
    """Pending rows into the engine's inbox; transient failures get one more turn at the end."""

    def __init__(self, job_id: str, loop: Any, inbox: Inbox, window: int) -> None:
        self.job_id, self.loop, self.inbox, self.window = job_id, loop, inbox, window
        self.buffer: deque[RowTask] = deque()
        self.deferred: list[RowTask] = []
        self.after = 0
        self.exhausted = False
        self.outstanding = 0
        self.streak = 0

    @property
    def finished(self) -> bool:
        idle = not self.buffer and self.outstanding == 0 and not self.deferred
        return self.exhausted and idle

    def top_up(self) -> None:
        """Fill the window once a quarter of it is free; the rows go over in one hand-off.

        Waiting for a quarter (not topping up after each returned row) lets the engine search
        them as one batch even when rows come back one at a time; three quarters of the
        window stay with the engine meanwhile.
        """
        if self.window - self.outstanding < max(1, self.window // 4):
            return
        rows: list[RowTask] = []
        while self.outstanding < self.window and self._next_ready():
            rows.append(self.buffer.popleft())
            self.outstanding += 1
        if rows:
            self.loop.call(_put_all, self.inbox, rows)

    def _next_ready(self) -> bool:
        if not self.buffer and not self.exhausted:
            rows = progress.pending_rows(self.job_id, self.after, CHUNK)
            self.exhausted = not rows
            if rows:
                self.after = rows[-1][1]
                self.buffer.extend(RowTask(i, n, k, v or {}) for i, n, k, v in rows)
        if not self.buffer and self.exhausted and self.outstanding == 0 and self.deferred:
            self.buffer.extend(self.deferred)
            self.deferred = []
        return bool(self.buffer)

    def returned(self, result: RowResult) -> None:
        self.outstanding -= 1
        self.streak = self.streak + 1 if result.retryable else 0

    def deferred_now(self, result: RowResult) -> bool:
        """Keep a transient failure back for a second turn (not written, stays pending)."""
        if result.retryable and not result.task.second_chance:
            self.deferred.append(dataclasses.replace(result.task, second_chance=True))
            return True
        return False


def _done_of_total(job: Job) -> str:
    return f"{job.done_rows:,} of {job.total_rows:,} rows done"


def _folder_of(exc: BaseException, default: Path) -> Path:
    """The folder of the file an OSError names, else `default`."""
    name = getattr(exc, "filename", None)
    return Path(name).parent if isinstance(name, str) else default


def _finished(future: concurrent.futures.Future[Any], timeout: float) -> bool:
    return bool(concurrent.futures.wait([future], timeout=timeout).done)


def _collect(results: queue.Queue[RowResult], timeout: float) -> list[RowResult]:
    got: list[RowResult] = []
    try:
        got.append(results.get(timeout=timeout) if timeout else results.get_nowait())
        while True:
            got.append(results.get_nowait())
    except queue.Empty:
        return got


def _put_all(inbox: Inbox, rows: list[RowTask]) -> None:
    for row in rows:
        inbox.put_nowait(row)


async def _new_queue() -> Inbox:
    return asyncio.Queue()
