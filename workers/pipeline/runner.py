"""Running one job from the actor's thread: claim, validate, feed rows, honour control.

The actor's thread owns the job store. It feeds pending rows (in row order, so a resumed job
continues at its first unfinished row) to the row engine on the process's event loop (across
`bridge`), keeps `WINDOW_PER_REQUEST` x `row_concurrency` rows outstanding, and writes results
back in batches. Between batches it beats the job's heart and renews its slot lease (its
`Hold`: `exmado_tui/job/liveness/` has the rule), reads `Job.control` every `CONTROL_S` and
watches the clock:

* pause / cancel — no new rows; rows in flight get `STOP_GRACE_S` to finish, the rest are
  cancelled (their `.part` files vanish) and stay pending; PAUSED gives the slot back.
* terminate, or the job taken by someone else — stop at once; the store's state wins.
* `jobs.job_timeout_s` for this run — FAILED with a sentence saying how far it got.
* transient failures — a row failing for a passing reason runs once more at the end; many in
  a row mean DocuWare is down: the job is handed back and the message retried later.

How the run ended is a `RunOutcome`, or the exception that stopped it; its `Ending`
(`endings.py`) ends the job by either, each move writing its event in the same call.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import peewee
from dramatiq.middleware import Shutdown, TimeLimitExceeded

from exmado_tui.config.profiles import Profile, check_profile
from exmado_tui.config.settings import mask_url
from exmado_tui.docuware.budget import RowPermits
from exmado_tui.docuware.errors import DocuWareDownError
from exmado_tui.errors import (
    NotWritableError,
    ProfileError,
    RetryableError,
    StoreIdentityError,
    StoreUnavailableError,
)
from exmado_tui.files import is_no_space, output_folder_problem
from exmado_tui.formatting import counted, span
from exmado_tui.job.liveness.hold import Hold, claim
from exmado_tui.job.query_source import QuerySource, query_of
from exmado_tui.job.status import Event, JobStatus
from exmado_tui.job.transitions import record_event, transition
from exmado_tui.output.report import remove_report_leftovers
from exmado_tui.store.db import is_write_refused, store_error, store_full, write_refused
from exmado_tui.store.identity import check_still, opened_store
from exmado_tui.store.models import Job
from workers.pipeline import outage, progress
from workers.pipeline.bridge import Feed, awaiting, collect, new_inbox
from workers.pipeline.endings import Ending, RunOutcome, Stop, requested_stop
from workers.pipeline.files import FileRecord, Placer, ZipLimits, remove_partials, sync_folders
from workers.pipeline.ingest import QueryReader, already_ingested, ingest, ingest_query
from workers.pipeline.rows import RowEngine, RowResult
from workers.runtime import Runtime

log = logging.getLogger("exmado.pipeline")
S = JobStatus
CONTROL_S = 0.25
STOP_GRACE_S = 0.5
STORE_RETRY_S = 1.0  # how often a run waiting for its store to take writes tries again
# Rows outstanding per request in flight. A row spends one latency waiting in its batch search
# and one downloading, and batches form while the previous one is out (2x: 64 % of the bound at
# 50 ms in bench_pipeline). The rows that finish while this thread records a batch (a folder
# fsync, a transaction) stay outstanding until it is done: at 4x the engine waited for rows
# then (212-218 rows/s; 6x 221-230, 8x 226-250, 12x 233-244, one session's runs in turns).
WINDOW_PER_REQUEST = 8
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
        self.output = Path()  # the job's output folder, once its rows run
        self.run_number = 0
        # When DocuWare's outage began, if the job's events told it and not yet its end
        self.out_since = outage.out_since(job_id)
        self.told_out_of_reach = self.out_since is not None  # the job's events say it
        self.ending = Ending(
            job_id, runtime, self.hold, self.store, self.started, last_attempt, self._keep_alive
        )

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
            outcome = self._validate_and_run(status)
        except Stop as stop:
            outcome = stop.outcome
        except (Exception, Shutdown, TimeLimitExceeded) as exc:
            self.ending.after_error(exc, self.out_since)
            return
        self.ending.finish(outcome)

    def _validate_and_run(self, status: JobStatus) -> RunOutcome:
        job = Job.get_by_id(self.job_id)
        self.run_number = job.runs
        self._tell_started()
        self._name_server()
        profile = job_profile(job)
        if status is S.VALIDATING:
            self._validate(job, profile)
        return self._rows(profile)

    def _tell_started(self) -> None:
        """'Run N started' in the job's events; in the worker's log alone while an outage
        they told lasts (`outage`): that run is one more try, not news."""
        started = f"Run {self.run_number} started on {self.worker}."
        if self.out_since is None:
            record_event(self.job_id, started)
        else:
            log.info("Job %s: %s DocuWare was not back at the last try.", self.job_id[:8], started)

    def _name_server(self) -> None:
        """The DocuWare server this run searches, for the manifest (password hidden)."""
        server = mask_url(self.runtime.settings.docuware.url)
        Job.update(docuware_url=server).where(Job.id == self.job_id).execute()

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
            f"Workbook read: {counted(got.total, 'row')} ({where}header in row {got.header_row}); "
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
        self.output = Path(job.output_dir)
        if problem := output_folder_problem(self.output):  # before any row is searched
            raise NotWritableError(
                f"The output folder {job.output_dir} {problem}", folder=job.output_dir
            )
        if job.runs > 1:
            self._remove_leftovers(self.output)
        loop = self.runtime.loop
        results: queue.Queue[RowResult] = queue.Queue()
        known = progress.known_files(job.id)  # here: the loop thread keeps no store connection
        progress.recount(job.id)  # flushes add to the counters: they start right
        engine = self._awaiting(self._engine(job, profile, known, results))
        self._awaiting(engine.prepare())
        inbox = new_inbox(loop)
        future = loop.submit(engine.serve(inbox))
        feed = Feed(self.job_id, loop, inbox, self.jobs.row_concurrency * WINDOW_PER_REQUEST)
        try:
            return self._drive(feed, results, future, engine)
        finally:
            future.cancel()
            concurrent.futures.wait([future], timeout=5)
            held = feed.take_events()
            ended = engine.placer.take_cut_events() + engine.throttling.sentences(ended=True)
            self._flush_leftovers(results, held, ended)

    def _remove_leftovers(self, folder: Path) -> None:
        """What a run killed mid-write left: its downloads' and its report's temporary files."""
        removed = remove_partials(folder, self.job_id) + remove_report_leftovers(folder)
        if removed:
            record_event(self.job_id, f"Removed {removed} unfinished file(s) of a past run.")

    def _awaiting(self, coro: Coroutine[Any, Any, T]) -> T:
        """`coro`'s result, beating the heart and hearing pause/cancel while it runs."""
        return awaiting(self.runtime.loop, coro, self._between_chunks, every=CONTROL_S)

    async def _engine(
        self,
        job: Job,
        profile: Profile,
        known: dict[str, list[FileRecord]],
        results: queue.Queue[RowResult],
    ) -> RowEngine:
        """The row engine and its placer, made on the loop; their requests carry the job's
        permits (the engine's and the downloads')."""
        client = await self.runtime.client()
        permits = RowPermits(self.jobs.row_concurrency)
        limits = ZipLimits(self.jobs.unzip_member_max_mb, self.jobs.unzip_total_max_mb)
        most = self.jobs.max_document_mb
        placer = Placer(client, profile, self.output, known, job.id, limits, most, permits=permits)
        return RowEngine(client, profile, placer, results)

    def _drive(
        self,
        feed: Feed,
        results: queue.Queue[RowResult],
        future: concurrent.futures.Future[None],
        engine: RowEngine,
    ) -> RunOutcome:
        batch: list[RowResult] = []
        streak_limit = max(10, 2 * self.jobs.row_concurrency)
        try:
            stop = self._drive_until_done(feed, results, future, engine, batch, streak_limit)
        except BaseException:
            # rows that finished stay finished, whatever ends the run
            self._save_quietly(batch, feed.take_events())
            raise
        self._record(batch, feed.take_events())
        return stop

    def _drive_until_done(
        self,
        feed: Feed,
        results: queue.Queue[RowResult],
        future: concurrent.futures.Future[None],
        engine: RowEngine,
        batch: list[RowResult],
        streak_limit: int,
    ) -> RunOutcome:
        """Feed rows and collect results until done or stopped; `batch` holds what is unsaved.
        DocuWare found down stops the run as a pause does (the rows in flight have the grace),
        then hands the job back."""
        next_flush = time.monotonic() + progress.FLUSH_S
        stop: RunOutcome | RetryableError | None = None
        deadline = 0.0
        while True:
            now = time.monotonic()
            if stop is None:
                feed.top_up()
                if feed.finished:
                    break
            elif feed.outstanding == 0 or now >= deadline:
                break
            _raise_if_stopped(future, ending=stop is not None)
            got = collect(results, 0.05)
            self._tell_back(got)
            down = _keep_to_save(feed, got, batch, streak_limit)
            self._tell_out_of_reach(feed)
            if down is not None and stop is None:
                stop, deadline = down, self._wind_down(engine, now)
            unsaved = batch or feed.held_events
            if len(batch) >= progress.FLUSH_ROWS or (unsaved and now >= next_flush):
                self._record(batch, feed.take_events())
                batch.clear()
                next_flush = now + progress.FLUSH_S
            if stop is None:
                try:
                    self._tick(now)
                except Stop as asked:
                    stop = asked.outcome
                    deadline = self._wind_down(engine, now, stop.stops_at_once)
        if isinstance(stop, RetryableError):
            raise stop
        return RunOutcome.ENDED if stop is None else stop

    def _tell_out_of_reach(self, feed: Feed) -> None:
        """Once a run, at its first row kept back for DocuWare out of reach: the job's events
        say why its rows wait, not only the worker's log (a hand-back says it only after a
        streak of such rows, or every row, each after its own retries)."""
        if feed.unreachable and not self.told_out_of_reach:
            self.told_out_of_reach = True
            server = mask_url(self.runtime.settings.docuware.url)
            record_event(
                self.job_id,
                f"DocuWare at {server} cannot be reached; the rows wait and will be tried again.",
                "warning",
            )

    def _tell_back(self, got: list[RowResult]) -> None:
        """Once DocuWare serves a row again after an outage the job's events told: that it is
        back, after how long, and which run continues."""
        if self.out_since is not None and outage.served(got):
            server = mask_url(self.runtime.settings.docuware.url)
            back = outage.back_sentence(server, self.out_since, self.run_number, self.worker)
            record_event(self.job_id, back)
            self.out_since = None

    def _wind_down(self, engine: RowEngine, now: float, at_once: bool = False) -> float:
        """The engine starts no other row; the end of the grace its rows in flight have."""
        self.runtime.loop.call(engine.stop_taking)
        return now + (0 if at_once else STOP_GRACE_S)

    def _flush_leftovers(
        self, results: queue.Queue[RowResult], held: list[Event], ended: list[Event]
    ) -> None:
        """The results that came in as the run stopped; of those kept back (their rows stay
        pending), and of the rows `held` back earlier, the events still."""
        got = collect(results, 0)
        kept_back = [e for r in got if r.retryable for e in r.events]
        self._save_quietly([r for r in got if not r.retryable], held + kept_back + ended)

    def _save_quietly(self, done: list[RowResult], events: Sequence[Event] = ()) -> None:
        try:
            check_still(self.store)
            sync_folders(self.output, (f for r in done for f in r.files))
            progress.flush(self.job_id, done, events)
        except StoreIdentityError as exc:
            log.error("Job %s: %d finished rows not recorded: %s", self.job_id[:8], len(done), exc)
        except Exception:
            log.exception("Could not record %d finished rows of job %s", len(done), self.job_id)

    def _record(self, done: list[RowResult], events: list[Event]) -> None:
        """Write `done` back, after `events` (those of rows kept back). While the store's files
        refuse writes (made immutable, a file system read-only) the run waits here, the results
        kept and no new row taken, until they take writes or the run's time is out; a deleted
        or swapped store stops it."""
        refused_at = 0.0
        sync_folders(self.output, (f for r in done for f in r.files))  # before they are told
        while True:
            check_still(self.store)
            try:
                progress.flush(self.job_id, done, events)
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
        if (asked := requested_stop(self.job_id)) is not None:
            raise Stop(asked)

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


def _raise_if_stopped(engine: concurrent.futures.Future[None], ending: bool) -> None:
    """The engine serves until the rows are done, or the run is `ending` (its rows in flight
    done, it may end in the grace): stopped before, raise what stopped it."""
    if engine.done():
        engine.result()
        if not ending:
            raise RuntimeError("The row engine stopped before the rows were done.")


def _keep_to_save(
    feed: Feed, got: list[RowResult], batch: list[RowResult], streak_limit: int
) -> RetryableError | None:
    """Into `batch` the results to write back (each at once: should the run end here, the
    batch is saved); a transient failure is kept back for a second turn, and `streak_limit`
    of them in a row mean DocuWare is down, as does every row of the run kept back for it out
    of reach: returned, the error the job is handed back with (rows kept back stay pending)."""
    down = None
    for result in got:
        feed.returned(result)
        if not feed.deferred_now(result):
            batch.append(result)
        if down is None and feed.streak >= streak_limit:
            down = DocuWareDownError(
                f"DocuWare failed {feed.streak} rows in a row for a passing reason "
                f"(last: {result.error})"
            )
        elif down is None and feed.all_unreachable:
            down = DocuWareDownError(f"DocuWare was out of reach for each row ({result.error})")
    return down
