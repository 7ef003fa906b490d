"""What a long job meets: a Redis blip, a run cut short, a user's requests close together."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import peewee
import pytest
import redis

from exmado_tui.docuware.errors import OVER, SLOWED, ServerError
from exmado_tui.errors import RetryableError, StoreUnavailableError
from exmado_tui.job.status import Event, JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.output.report import MANIFEST_NAME
from exmado_tui.store.models import Job, JobEvent, JobRow
from tests.pipeline_harness import Pipeline, control_later
from workers.pipeline import outage, progress
from workers.pipeline.files import Placer
from workers.pipeline.runner import JobRun


@pytest.fixture
def pipeline(tmp_path: Path, redis_url: str) -> Pipeline:
    return Pipeline(tmp_path, redis_url)


def test_a_redis_blip_while_renewing_the_lease_does_not_fail_the_job(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.client.latency_s = 0.05
    job_id = pipeline.create([100000 + i for i in range(1, 41)])
    calls: list[int] = []

    def flaky_renew(*_: Any) -> bool:
        calls.append(1)
        if len(calls) <= 2:
            raise redis.ConnectionError("Error 111 connecting to localhost:6379.")
        return True

    monkeypatch.setattr(pipeline.runtime.slots, "renew", flaky_renew)
    job = pipeline.run(job_id)
    assert calls, "the lease was never renewed"
    assert job.status == "COMPLETED", job.last_error
    assert JobRow.select().where(JobRow.status == "done").count() == 40
    assert Job.get_by_id(job_id).found_rows == 40


def test_rows_finished_before_docuware_went_down_are_kept(pipeline: Pipeline) -> None:
    pipeline.configure(row_concurrency=1)  # results come back in row order
    pipeline.client.fail_downloads = set(range(11, 61))
    job_id = pipeline.create([100000 + i for i in range(1, 61)])
    with pytest.raises(RetryableError):
        pipeline.run(job_id)
    done = [r.row_number for r in JobRow.select().where(JobRow.status == "done")]
    assert sorted(done) == list(range(2, 12))  # rows 2..11 hold invoices 100001..100010
    assert Job.get_by_id(job_id).found_rows == 10


def test_a_row_filing_its_download_when_docuware_is_found_down_is_kept(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failures that hand the job back come while the last good row files its document:
    it has the grace a pause gives (it was cut, and downloaded again by the next run)."""
    pipeline.configure(row_concurrency=1)
    pipeline.client.fail_downloads = set(range(11, 61))
    commit = Placer._commit_now

    def slow_for_the_tenth(self: Placer, doc: Any, *args: Any) -> Any:
        if doc.id == 10:
            time.sleep(0.3)  # a slow disk's fsync
        return commit(self, doc, *args)

    monkeypatch.setattr(Placer, "_commit_now", slow_for_the_tenth)
    job_id = pipeline.create([100000 + i for i in range(1, 61)])
    with pytest.raises(RetryableError):
        pipeline.run(job_id)
    done = [r.row_number for r in JobRow.select().where(JobRow.status == "done")]
    assert sorted(done) == list(range(2, 12))


def test_a_cancel_asked_while_a_pause_winds_down_is_not_lost(pipeline: Pipeline) -> None:
    pipeline.client.latency_s = 0.3  # rows stay in flight through the pause's grace
    job_id = pipeline.create([100000 + i for i in range(1, 61)])
    control_later(job_id, 0.6, control="pause")  # seen within CONTROL_S, by 0.85 s
    control_later(job_id, 0.95, control="cancel")  # inside the STOP_GRACE_S that follows
    job = pipeline.run(job_id)
    assert job.status == "CANCELLED" and job.control is None
    assert JobRow.select().where(JobRow.status == "pending").count() == 60 - job.done_rows


def test_retry_keeps_the_sentence_of_rows_refused_at_ingest(pipeline: Pipeline) -> None:
    pipeline.client.fail_downloads = {1}
    job_id = pipeline.create([100001, None, "#N/A"])
    pipeline.run(job_id)
    before = {r.row_number: r.error for r in JobRow.select()}
    pipeline.client.fail_downloads = set()
    pipeline.service.retry(job_id)
    job = pipeline.run(job_id, token="m2")
    rows = {r.row_number: (r.status, r.error) for r in JobRow.select()}
    assert rows == {2: ("done", ""), 3: ("failed", before[3]), 4: ("failed", before[4])}
    assert "Excel error #N/A" in before[4]
    assert job.status == "COMPLETED_WITH_ERRORS" and job.failed_rows == 2


def test_a_retried_row_without_a_key_fails_again_without_a_search(pipeline: Pipeline) -> None:
    """Retries of older versions set rows refused at ingest (no key, an Excel error) pending
    again; such rows may still wait in a store."""
    job_id = pipeline.create([100001, None, "#N/A"])
    pipeline.run(job_id)
    JobRow.update(status="pending", error="").where(JobRow.status == "failed").execute()
    Job.update(status="PENDING").where(Job.id == job_id).execute()
    searches = pipeline.client.searches
    pipeline.run(job_id, token="m2")
    rows = {r.row_number: (r.status, r.error) for r in JobRow.select()}
    assert rows[2][0] == "done"
    for number in (3, 4):
        assert rows[number] == (
            "failed",
            f"Row {number} has no value in column 'Invoice number'; fix the workbook and "
            "create the job again.",
        )
    assert pipeline.client.searches == searches  # row 2 is done: nothing to search


def first_flush_fails(monkeypatch: pytest.MonkeyPatch, error: Exception) -> Any:
    """The store refuses the first write of finished rows with `error`; the real flush back."""
    real_flush, calls = progress.flush, []

    def once(job: str, results: list, *args: Any) -> None:
        if results and not calls:
            calls.append(1)
            raise error
        real_flush(job, results, *args)

    monkeypatch.setattr(progress, "flush", once)
    return real_flush


def test_a_store_too_busy_to_write_hands_the_job_back_for_a_retry(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.client.latency_s = 0.02
    job_id = pipeline.create([100000 + i for i in range(1, 41)])
    real_flush = first_flush_fails(monkeypatch, peewee.OperationalError("database is locked"))
    with pytest.raises(StoreUnavailableError, match="database is locked"):
        pipeline.run(job_id)
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.last_error) == ("RUNNING", "", "")
    monkeypatch.setattr(progress, "flush", real_flush)
    assert pipeline.run(job_id, token="m2").status == "COMPLETED"


def test_a_store_missing_a_table_fails_the_job_at_once_rather_than_retrying(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missed migration fails every attempt alike: no "gave up after several attempts"."""
    pipeline.client.latency_s = 0.02
    job_id = pipeline.create([100000 + i for i in range(1, 41)])
    first_flush_fails(monkeypatch, peewee.OperationalError("no such column: jobrow.signed_by"))
    job = pipeline.run(job_id)  # no RetryableError: the message is not tried again
    assert job.status == "FAILED"
    assert job.last_error == (
        "Unexpected error: OperationalError: no such column: jobrow.signed_by."
    )


def test_a_slow_start_at_docuware_beats_the_heart_and_hears_a_cancel(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = pipeline.create([100000 + i for i in range(1, 11)])

    async def slow_cabinet(name: str) -> str:  # a throttled DocuWare at the start of a run
        await asyncio.sleep(5)
        return name

    monkeypatch.setattr(pipeline.client, "find_cabinet", slow_cabinet)
    beats: list[Any] = []

    def watch() -> None:
        for _ in range(2):
            time.sleep(0.6)
            beats.append(Job.get_by_id(job_id).heartbeat_at)

    watcher = threading.Thread(target=watch)
    watcher.start()
    control_later(job_id, 1.5, control="cancel")
    started = time.monotonic()
    job = pipeline.run(job_id)
    watcher.join()
    assert job.status == "CANCELLED" and time.monotonic() - started < 3
    assert beats[0] is not None and beats[1] > beats[0], "no heartbeat while signing in"
    assert pipeline.client.downloads == {}


def test_a_field_named_in_another_case_or_by_its_label_is_searched_by_its_db_name(
    pipeline: Pipeline,
) -> None:
    job_id = pipeline.create(
        [100000 + i for i in range(1, 41)], columns={"Invoice number": "Invoice_No"}
    )
    job = pipeline.run(job_id)
    assert job.status == "COMPLETED" and job.found_rows == 40, job.last_error
    assert pipeline.client.searches < 20  # batched (row by row would be 40): matched by DB name


def test_a_field_the_dialog_does_not_have_fails_the_job_naming_it(pipeline: Pipeline) -> None:
    job_id = pipeline.create([100001, 100002], columns={"Invoice number": "INVOICE_NUMBER"})
    job = pipeline.run(job_id)
    assert job.status == "FAILED" and pipeline.client.searches == 0
    assert job.last_error.startswith(
        "Column 'Invoice number' maps to the field 'INVOICE_NUMBER', which the search dialog "
        "'Search' does not have; its fields: DOC_DATE, INVOICE_NO, SUPPLIER."
    )
    # a retry would run the job's snapshot of the profile again: the sentence says what works
    assert "fix the profile, then create a new job from the workbook" in job.last_error


def test_a_report_written_before_a_move_that_loses_says_where_the_job_went(
    pipeline: Pipeline,
) -> None:
    """The worker writes the report as COMPLETED just before moving the job; an operator's
    `jobs fail` got there first, so the report must say FAILED after all."""
    job_id = pipeline.create([100001, 100002])
    job = pipeline.run(job_id)
    assert job.status == "COMPLETED"
    Job.update(status="RUNNING").where(Job.id == job_id).execute()  # as if still finishing
    run = JobRun(job_id, pipeline.runtime, "m2", last_attempt=False)
    transition(job_id, JobStatus.FAILED, last_error="Stopped by an operator.")  # it wins
    lost = Event("Finished: should not be written.")
    assert not run.ending.report_then_move(
        JobStatus.COMPLETED, frozenset({JobStatus.RUNNING}), lost
    )
    manifest = json.loads((Path(job.output_dir) / MANIFEST_NAME).read_text())
    assert manifest["status"] == "FAILED"
    assert not JobEvent.select().where(JobEvent.message == lost.text).exists()


def test_rows_failing_in_a_row_for_a_passing_reason_hand_the_job_back(pipeline: Pipeline) -> None:
    """DocuWare down (every download a 503): after a streak of transient failures the job is
    handed back and its message retried, its rows left pending, rather than each row failed."""
    pipeline.client.fail_downloads = {doc.id for doc in pipeline.client.docs}
    job_id = pipeline.create([100000 + i for i in range(1, 31)])
    with pytest.raises(RetryableError, match="rows in a row for a passing reason"):
        pipeline.run(job_id)
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker) == ("RUNNING", "")
    assert job.wait_reason.startswith("will try again: DocuWare failed ")
    rows = JobRow.select().where(JobRow.job == job_id)
    assert {row.status for row in rows} == {"pending"}


def test_a_job_smaller_than_the_streak_is_handed_back_when_docuware_is_out_of_reach(
    pipeline: Pipeline,
) -> None:
    """Three rows cannot make the streak that says DocuWare is down: each finding it out of
    reach in its first turn says it instead, and the rows stay pending, not failed."""
    pipeline.client.down = True
    job_id = pipeline.create([100001, 100002, 100003])
    with pytest.raises(RetryableError, match="DocuWare was out of reach for each row"):
        pipeline.run(job_id)
    assert Job.get_by_id(job_id).wait_reason.startswith("will try again: DocuWare was out ")
    assert {row.status for row in JobRow.select().where(JobRow.job == job_id)} == {"pending"}


def test_docuware_out_of_reach_is_told_once_in_the_jobs_events(pipeline: Pipeline) -> None:
    """The user watches the job's events, not the worker's log: DocuWare out of reach for
    many rows is said there once, naming the server, before the job is handed back."""
    pipeline.client.down = True
    job_id = pipeline.create([100000 + i for i in range(1, 31)])
    with pytest.raises(RetryableError, match="rows in a row for a passing reason"):
        pipeline.run(job_id)
    events = [
        e.message for e in JobEvent.select().where(JobEvent.job == job_id).order_by(JobEvent.id)
    ]
    server = pipeline.runtime.settings.docuware.url
    told = f"DocuWare at {server} cannot be reached; the rows wait and will be tried again."
    assert events.count(told) == 1, events
    assert events.index(told) < len(events) - 1  # the hand-back's own sentence comes after


def test_a_small_job_whose_downloads_are_refused_fails_those_rows_and_completes(
    pipeline: Pipeline,
) -> None:
    """DocuWare answering (503 for two documents) is not down: those rows fail."""
    pipeline.client.fail_downloads = {2, 3}
    job_id = pipeline.create([100001, 100002, 100003])
    job = pipeline.run(job_id)
    assert job.status == "COMPLETED_WITH_ERRORS", job.last_error
    statuses = sorted(row.status for row in JobRow.select().where(JobRow.job == job_id))
    assert statuses == ["done", "failed", "failed"]


def test_the_events_of_a_row_held_back_for_a_second_try_reach_the_jobs_events_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DocuWare throttles a download, then fails it (503): the row is held back for a second
    try, and the sentence its first try carried (throttling began) is still in the job's
    events, once, before the one that says it is over."""
    pipeline.configure(row_concurrency=1)
    download = pipeline.client.download
    failed: list[int] = []

    async def throttled_then_503(doc: Any, dest: Path, **options: Any) -> Any:
        if doc.id == 3 and not failed:
            failed.append(doc.id)
            options["permits"].watch.throttled(2.0)
            raise ServerError("DocuWare answered 503 for /FileDownload.", status=503)
        return await download(doc, dest, **options)

    monkeypatch.setattr(pipeline.client, "download", throttled_then_503)
    job_id = pipeline.create([100000 + i for i in range(1, 7)])
    job = pipeline.run(job_id)
    assert failed and job.status == "COMPLETED", job.last_error
    events = [
        e.message for e in JobEvent.select().where(JobEvent.job == job_id).order_by(JobEvent.id)
    ]
    slowed = [i for i, e in enumerate(events) if e.startswith(SLOWED)]
    over = [i for i, e in enumerate(events) if e.startswith(OVER)]
    assert len(slowed) == 1 and len(over) == 1 and slowed < over, events


def test_a_long_outage_is_told_once_and_then_when_docuware_is_back(pipeline: Pipeline) -> None:
    """The runs that find DocuWare still out of reach add nothing to the job's events: that it
    cannot be reached and that the job keeps trying is said once, then that it is back, after
    how long, and which run continues."""
    pipeline.client.down = True
    job_id = pipeline.create([100000 + i for i in range(1, 31)])
    for _ in range(3):
        with pytest.raises(RetryableError):
            pipeline.run(job_id)
    pipeline.client.down = False
    assert pipeline.run(job_id).status == "COMPLETED"
    events = [
        e.message for e in JobEvent.select().where(JobEvent.job == job_id).order_by(JobEvent.id)
    ]
    server = pipeline.runtime.settings.docuware.url
    assert [e for e in events if e.startswith("Run ")] == [
        f"Run 1 started on {pipeline.runtime.worker_id}."
    ]
    assert len([e for e in events if "cannot be reached; the rows wait" in e]) == 1, events
    keeps = [e for e in events if e.endswith("; the job keeps trying until DocuWare is back.")]
    back = [e for e in events if e.startswith(f"DocuWare at {server} is back after ")]
    assert len(keeps) == 1 and len(back) == 1, events
    assert back[0].endswith(f"; run 4 continues on {pipeline.runtime.worker_id}."), back
    assert events.index(keeps[0]) < events.index(back[0]) < len(events) - 1


@pytest.mark.parametrize(("runs_before", "away"), [(1, "has been away for 45 min"), (0, "is away")])
def test_a_job_giving_up_in_an_outage_says_how_long_docuware_has_been_away(
    pipeline: Pipeline, runs_before: int, away: str
) -> None:
    """The message's last attempt finds DocuWare still out of reach, 45 minutes after the
    job's events told the outage (or as the first run finds it): the job fails with one
    sentence that names DocuWare once, says how long it has been away and how to go on."""
    pipeline.client.down = True
    job_id = pipeline.create([100000 + i for i in range(1, 31)])
    for _ in range(runs_before):
        with pytest.raises(RetryableError):
            pipeline.run(job_id)
        told = JobEvent.select().where(JobEvent.job == job_id).order_by(JobEvent.id.desc()).get()
        JobEvent.update(at=told.at - timedelta(minutes=45)).where(JobEvent.id == told.id).execute()
    job = pipeline.run(job_id, token="m2", last_attempt=True)
    server = pipeline.runtime.settings.docuware.url
    assert job.status == "FAILED"
    assert job.last_error == (
        f"DocuWare at {server} {away}; the job gave up after several attempts: "
        f"`exmado jobs retry {job_id[:8]}` continues once it is back."
    )


def test_a_hand_back_in_a_lasting_outage_does_not_ask_again_when_it_began(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run asks the job's events once whether they told an outage, as it begins; it knows
    since whether DocuWare came back: its hand-back does not ask the store again."""
    pipeline.client.down = True
    job_id = pipeline.create([100000 + i for i in range(1, 31)])
    with pytest.raises(RetryableError):
        pipeline.run(job_id)
    asked: list[str] = []
    real_out_since = outage.out_since

    def counted_out_since(job: str) -> Any:
        asked.append(job)
        return real_out_since(job)

    monkeypatch.setattr(outage, "out_since", counted_out_since)
    with pytest.raises(RetryableError):
        pipeline.run(job_id, token="m2")
    assert asked == [job_id]
    keeps = JobEvent.select().where(JobEvent.message.endswith(outage.KEEPS_TRYING)).count()
    assert keeps == 1
