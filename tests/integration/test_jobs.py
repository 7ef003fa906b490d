"""The job service: creation, control requests, retry, delete — with messages landing in Redis."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import redis

from exmado_tui.config.settings import Settings
from exmado_tui.errors import (
    JobNotFoundError,
    ProfileError,
    QueueUnavailableError,
    TransitionError,
    WorkbookError,
)
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.services.localredis import free_port
from exmado_tui.services.queue import RUN_JOB, WORKER_KEY_PREFIX
from exmado_tui.store.db import open_database, utcnow
from exmado_tui.store.models import Job, JobEvent, JobRow
from exmado_tui.store.queries import get_job, resolve_job_id
from tests.environment import make_settings
from tests.factories import insert_job
from tests.job_queue import queued_messages

S = JobStatus


@pytest.fixture
def store(any_store: Settings) -> Settings:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_store


def test_create_keeps_a_private_copy_with_its_sha256(service, workbook, store):
    job = service.create(JobRequest(workbook, profile="invoices", user="ana", name="Q1 invoices"))
    copy = Path(job.workbook_path)
    assert copy.is_relative_to(store.data_dir)
    assert copy.read_bytes() == workbook.read_bytes()
    assert job.workbook_sha256 == hashlib.sha256(workbook.read_bytes()).hexdigest()
    workbook.unlink()
    assert copy.exists()
    assert job.status is S.PENDING
    assert (job.user, job.name, job.source) == ("ana", "Q1 invoices", "cli")
    assert job.config["cabinet"] == "Invoices"
    assert job.config["columns"] == {"Invoice number": "INVOICE_NO"}
    assert Path(job.output_dir).is_relative_to(store.jobs.output_root)


def test_create_without_start_sends_nothing(service, workbook, redis_url):
    service.create(JobRequest(workbook, profile="invoices"))
    assert queued_messages(redis_url) == []


def test_start_puts_a_run_job_message_in_redis(service, workbook, redis_url):
    job = service.create(JobRequest(workbook, profile="invoices", start=True))
    [message] = queued_messages(redis_url)
    assert message["actor_name"] == RUN_JOB
    assert message["args"] == [job.id]
    assert get_job(job.id).wait_reason == "waiting for a worker"
    assert get_job(job.id).queued_at is not None


def test_job_options_lie_over_the_profile(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices", config={"format": "zip"}))
    assert job.config["format"] == "zip"
    assert job.config["cabinet"] == "Invoices"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("old.xls", "Excel 97–2003 format"),
        ("notes.txt", "not an Excel workbook"),
        ("missing.xlsx", "does not exist"),
    ],
)
def test_unusable_workbooks_are_refused_in_one_sentence(service, tmp_path, name, expected):
    if name != "missing.xlsx":
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(WorkbookError, match=expected):
        service.create(JobRequest(tmp_path / name, profile="invoices"))
    assert Job.select().count() == 0


def test_unknown_profile_is_named(service, workbook):
    with pytest.raises(ProfileError, match="Profile 'nope' not found.*invoices"):
        service.create(JobRequest(workbook, profile="nope"))


def test_unreachable_redis_keeps_the_job_and_says_how_to_queue_it(tmp_path, workbook):
    settings = make_settings(tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    open_database(settings.database_url)
    with pytest.raises(QueueUnavailableError, match="saved but not queued.*exmado jobs start"):
        JobService(settings).create(JobRequest(workbook, profile="invoices", start=True))
    assert Job.select().count() == 1


def test_pause_of_a_running_job_is_a_request(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    transition(job.id, S.VALIDATING, worker="host:1")
    transition(job.id, S.RUNNING)
    assert service.pause(job.id).control == "pause"
    assert get_job(job.id).status is S.RUNNING


@pytest.mark.parametrize(("act", "status"), [("pause", S.PAUSED), ("cancel", S.CANCELLED)])
def test_pause_or_cancel_of_a_running_job_no_worker_holds_is_immediate(
    service, workbook, act, status
):
    """Handed back to wait for its retry, nobody would hear a request for minutes."""
    job = service.create(JobRequest(workbook, profile="invoices"))
    transition(job.id, S.VALIDATING, worker="host:1")
    transition(job.id, S.RUNNING, worker="", wait_reason="will try again: DocuWare is down")
    moved = getattr(service, act)(job.id)
    assert (moved.status, moved.control) == (status, None)
    assert "while no worker held it" in JobEvent.select().order_by(JobEvent.id.desc())[0].message


def test_pause_of_a_pending_job_is_refused(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    with pytest.raises(TransitionError, match="is PENDING; only a running job can be paused"):
        service.pause(job.id)


def test_cancel_of_a_pending_job_is_immediate(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    assert service.cancel(job.id).status is S.CANCELLED


def test_cancel_of_a_running_job_asks_the_worker(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    transition(job.id, S.VALIDATING, worker="host:1")
    cancelled = service.cancel(job.id)
    assert (cancelled.status, cancelled.control) == (S.VALIDATING, "cancel")


def test_resume_moves_paused_to_running_and_queues_it(service, workbook, redis_url):
    job = service.create(JobRequest(workbook, profile="invoices"))
    for status in (S.VALIDATING, S.RUNNING, S.PAUSED):
        transition(job.id, status)
    resumed = service.resume(job.id)
    assert resumed.status is S.RUNNING
    assert [m["args"] for m in queued_messages(redis_url)] == [[job.id]]


def test_retry_reruns_only_rows_that_did_not_succeed(service, workbook, redis_url):
    job = service.create(JobRequest(workbook, profile="invoices"))
    statuses = ["done", "not_found", "failed", "ambiguous", "skipped", "pending"]
    for number, status in enumerate(statuses, start=2):
        JobRow.create(
            job=job.id, row_number=number, values={}, status=status, error="x", attempts=1
        )
    for status in (S.VALIDATING, S.RUNNING, S.COMPLETED_WITH_ERRORS):
        transition(job.id, status)
    retried = service.retry(job.id)
    assert retried.status is S.PENDING
    assert retried.finished_at is None
    rows = {r.row_number: r.status for r in JobRow.select()}
    assert rows == {2: "done", 3: "pending", 4: "pending", 5: "pending", 6: "skipped", 7: "pending"}
    assert len(queued_messages(redis_url)) == 1


IMPORT_ERROR = (
    "Row 3: column 'Invoice number' holds the Excel error #N/A; "
    "fix the cell and create the job again."
)


def failed_at_import(job_id: str, number: int = 3) -> None:
    """A row as ingest stores it: failed before any run tried it."""
    JobRow.create(
        job=job_id,
        row_number=number,
        values={},
        status="failed",
        error=IMPORT_ERROR,
        failed_at_import=True,
    )


def test_retry_keeps_rows_that_failed_at_import_with_their_sentence(service, workbook, redis_url):
    job = service.create(JobRequest(workbook, profile="invoices"))
    JobRow.create(job=job.id, row_number=2, values={}, status="failed", error="503", attempts=1)
    failed_at_import(job.id)
    for status in (S.VALIDATING, S.RUNNING, S.COMPLETED_WITH_ERRORS):
        transition(job.id, status)
    assert service.retry(job.id).status is S.PENDING
    rows = {r.row_number: (r.status, r.error) for r in JobRow.select()}
    assert rows == {2: ("pending", ""), 3: ("failed", IMPORT_ERROR)}
    assert len(queued_messages(redis_url)) == 1
    retry_event = JobEvent.get(JobEvent.message.startswith("Retry by ")).message
    assert retry_event == (
        f"Retry by {service.actor}: 1 row(s) will run again; 1 that failed when the workbook "
        "was read stay failed."
    )


def test_retry_with_only_import_failures_left_is_refused(service, workbook, redis_url):
    job = service.create(JobRequest(workbook, profile="invoices"))
    JobRow.create(job=job.id, row_number=2, values={}, status="done", attempts=1)
    failed_at_import(job.id)
    for status in (S.VALIDATING, S.RUNNING, S.COMPLETED_WITH_ERRORS):
        transition(job.id, status)
    with pytest.raises(TransitionError) as refused:
        service.retry(job.id)
    assert str(refused.value) == (
        f"Job {job.id[:8]} has nothing to retry: its 1 failed row(s) failed when the workbook "
        "was read (an empty key or an Excel error cell), which another run cannot change; "
        "fix the workbook and create the job again."
    )
    assert get_job(job.id).status is S.COMPLETED_WITH_ERRORS
    assert JobRow.get(JobRow.row_number == 3).error == IMPORT_ERROR
    assert queued_messages(redis_url) == []


def test_retry_of_a_job_that_failed_before_reading_its_workbook_is_queued(
    service, workbook, redis_url
):
    job = service.create(JobRequest(workbook, profile="invoices"))
    transition(job.id, S.VALIDATING)
    transition(job.id, S.FAILED)
    assert service.retry(job.id).status is S.PENDING
    assert len(queued_messages(redis_url)) == 1


def test_retry_of_a_completed_job_is_refused(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    for status in (S.VALIDATING, S.RUNNING, S.COMPLETED):
        transition(job.id, status)
    with pytest.raises(TransitionError, match="is COMPLETED"):
        service.retry(job.id)


def test_a_refused_retry_leaves_the_rows_and_the_log_as_they_were(service, workbook):
    """The rows are reset in the move's transaction: a move refused there undoes them."""
    job = service.create(JobRequest(workbook, profile="invoices"))
    JobRow.create(job=job.id, row_number=2, values={}, status="not_found", error="x", attempts=1)
    transition(job.id, S.VALIDATING)
    transition(job.id, S.RUNNING)
    with pytest.raises(TransitionError, match="is RUNNING"):
        service.retry(job.id)
    assert [(r.status, r.error) for r in JobRow.select()] == [("not_found", "x")]
    assert not JobEvent.select().where(JobEvent.message.startswith("Retry:")).exists()


def test_operator_moves_write_their_event_with_the_move_and_none_when_refused(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    transition(job.id, S.VALIDATING)
    service.terminate(job.id, "wrong workbook")
    with pytest.raises(TransitionError, match="is CANCELLED"):
        service.fail(job.id, "too late")
    with pytest.raises(TransitionError, match="is CANCELLED"):
        service.resume(job.id)
    logged = [
        (e.level, e.message)
        for e in JobEvent.select().where(JobEvent.job == job.id).order_by(JobEvent.id)
    ]
    assert logged[1:] == [
        (
            "warning",
            f"Terminated by {service.actor}: wrong workbook. Its worker drops it; finished files "
            "stay.",
        )
    ]


def test_fail_records_the_operator_reason(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    transition(job.id, S.VALIDATING)
    transition(job.id, S.RUNNING)
    failed = service.fail(job.id, "host burned down")
    assert failed.status is S.FAILED
    assert "host burned down" in failed.last_error
    assert JobEvent.select().where(JobEvent.level == "error").count() == 1


def test_delete_removes_the_job_and_its_copy_but_keeps_files(service, workbook, tmp_path):
    job = service.create(JobRequest(workbook, profile="invoices", output=tmp_path / "result"))
    (tmp_path / "result").mkdir()
    (tmp_path / "result" / "a.pdf").write_bytes(b"%PDF")
    JobRow.create(job=job.id, row_number=2, values={})
    service.delete(job.id)
    assert Job.select().count() == 0
    assert JobRow.select().count() == 0
    assert not Path(job.workbook_path).exists()
    assert (tmp_path / "result" / "a.pdf").exists()


def test_delete_with_files_removes_the_output(service, workbook, tmp_path):
    job = service.create(JobRequest(workbook, profile="invoices", output=tmp_path / "result"))
    (tmp_path / "result").mkdir()
    service.delete(job.id, keep_files=False)
    assert not (tmp_path / "result").exists()


def test_delete_of_a_running_job_is_refused(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    transition(job.id, S.VALIDATING)
    with pytest.raises(TransitionError, match="cancel it before deleting"):
        service.delete(job.id)


def test_short_ids_resolve_and_ambiguity_is_reported(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    assert resolve_job_id(job.id[:6].upper()) == job.id
    for digit in "01":
        insert_job("abcd" + digit * 28, name="twin")
    assert resolve_job_id("abcd" + "1" * 28) == "abcd" + "1" * 28
    with pytest.raises(JobNotFoundError, match="ambiguous"):
        resolve_job_id("abcd")
    with pytest.raises(JobNotFoundError, match="No job"):
        resolve_job_id("zzzzzz")


@pytest.mark.parametrize("prefix", ["b7", "B7c", "b"])
def test_a_prefix_too_short_asks_for_four_characters(service, prefix):
    insert_job("b7c1" + "0" * 28)
    with pytest.raises(JobNotFoundError) as refused:
        resolve_job_id(prefix)
    assert str(refused.value) == (
        f"Job id {prefix!r} is too short; give at least 4 characters of the job id."
    )


def test_a_short_prefix_no_job_starts_with_is_not_found(service):
    insert_job("b7c1" + "0" * 28)
    with pytest.raises(JobNotFoundError, match="No job with id 'zz'"):
        resolve_job_id("zz")


def test_wait_returns_at_the_end_and_times_out_otherwise(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    with pytest.raises(TimeoutError, match="still PENDING after 0.2 s"):
        service.wait(job.id, timeout=0.2, poll_s=0.05)
    service.cancel(job.id)
    assert service.wait(job.id, timeout=1).status is S.CANCELLED


def test_terminate_cancels_at_once_and_tells_the_worker(service, workbook):
    job = service.create(JobRequest(workbook, profile="invoices"))
    transition(job.id, S.VALIDATING)
    transition(job.id, S.RUNNING, worker="host:1")
    ended = service.terminate(job.id, "runaway")
    assert (ended.status, ended.control, ended.worker) == (S.CANCELLED, "terminate", "")
    assert "runaway" in ended.last_error


def test_requeue_unfinished_sends_what_redis_may_have_lost(service, workbook, redis_url):
    queued = service.create(JobRequest(workbook, profile="invoices", start=True))
    never_started = service.create(JobRequest(workbook, profile="invoices"))
    running = service.create(JobRequest(workbook, profile="invoices"))
    transition(running.id, S.VALIDATING)
    transition(running.id, S.RUNNING, worker="host:1", heartbeat_at=utcnow())
    redis.Redis.from_url(redis_url).flushall()
    assert service.requeue_unfinished(fresh_s=60) == [queued.id]
    assert sorted(service.requeue_unfinished()) == sorted([queued.id, running.id])
    assert never_started.id not in {m["args"][0] for m in queued_messages(redis_url)}


def test_alive_workers_reads_the_registry(service, redis_url):
    client = redis.Redis.from_url(redis_url)
    client.set(WORKER_KEY_PREFIX + "b", json.dumps({"id": "b", "since": "2026-01-02T00:00:00Z"}))
    client.set(WORKER_KEY_PREFIX + "a", json.dumps({"id": "a", "since": "2026-01-01T00:00:00Z"}))
    assert [w["id"] for w in service.queue.alive_workers()] == ["a", "b"]


def test_a_job_without_profile_or_mapping_is_refused_before_anything_is_stored(service, workbook):
    with pytest.raises(ProfileError, match=r"needs a profile \(--profile NAME; known: invoices"):
        service.create(JobRequest(workbook))
    with pytest.raises(ProfileError, match="cabinet and a column"):
        service.create(JobRequest(workbook, config={"cabinet": "Invoices"}))
    assert Job.select().count() == 0
    mapped = service.create(
        JobRequest(
            workbook, config={"cabinet": "Invoices", "columns": {"Invoice number": "INVOICE_NO"}}
        )
    )
    assert mapped.config["cabinet"] == "Invoices"
