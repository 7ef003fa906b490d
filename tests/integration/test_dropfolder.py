"""The drop folder, with real files, a real store and a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from exmado_tui.config.settings import Duplicates
from exmado_tui.dropfolder.watch import REASON_SUFFIX, DropFolder, reason_file
from exmado_tui.errors import WorkbookError
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from exmado_tui.store.models import Job
from tests.drop_folder import settle, watch_until_a_job
from tests.job_queue import queued_messages
from tests.workbooks import write_workbook


def test_prepare_makes_a_folder_per_profile(folder):
    names = {p.name for p in folder.root.iterdir()}
    assert {"invoices", "personnel", "archive", "rejected"} <= names


def test_a_settled_workbook_becomes_a_started_job_and_is_archived(folder, clock, redis_url):
    dropped = write_workbook(folder.root / "invoices" / "march.xlsx", [["100001"]])
    assert folder.tick() == []  # just seen: not settled yet
    [outcome] = settle(folder, clock)
    assert outcome.accepted
    job = Job.get_by_id(outcome.job_id)
    assert (job.source, job.profile, job.workbook_name) == ("dropfolder", "invoices", "march.xlsx")
    assert [m["args"] for m in queued_messages(redis_url)] == [[job.id]]
    assert not dropped.exists()
    assert outcome.moved_to.is_relative_to(folder.archive)
    assert outcome.moved_to.exists()


def test_a_file_still_growing_waits(folder, clock):
    path = folder.root / "invoices" / "big.xlsx"
    path.write_bytes(b"PK\x03\x04 partial")
    folder.tick()
    clock.now += folder.settings.stable_s + 0.1
    with path.open("ab") as f:
        f.write(b"more")
    assert folder.tick() == []
    assert Job.select().count() == 0


def test_a_truncated_workbook_is_rejected_once_quiet_for_stable_s(folder, clock):
    source = write_workbook(folder.root.parent / "whole.xlsx", [["100001"]])
    path = folder.root / "invoices" / "whole.xlsx"
    path.write_bytes(source.read_bytes()[:200])
    [outcome] = settle(folder, clock)
    assert "Workbook whole.xlsx cannot be read as an Excel workbook" in outcome.reason
    assert outcome.moved_to.parent == folder.rejected


@pytest.mark.parametrize(
    ("relative", "content", "reason"),
    [
        ("invoices/old.xls", b"\xd0\xcf\x11\xe0", "Excel 97–2003 format"),
        ("invoices/notes.txt", b"hello", "not an Excel workbook"),
        ("loose.xlsx", None, "not in a profile folder"),
        ("unknown/a.xlsx", None, "not in a profile folder"),
    ],
)
def test_refused_files_go_to_rejected_with_their_reason(folder, clock, relative, content, reason):
    path = folder.root / relative
    path.parent.mkdir(exist_ok=True)
    if content is None:
        write_workbook(path, [["1"]])
    else:
        path.write_bytes(content)
    [outcome] = settle(folder, clock)
    assert not outcome.accepted
    assert reason in outcome.reason
    assert outcome.moved_to.parent == folder.rejected
    sidecar = reason_file(outcome.moved_to)
    assert reason in sidecar.read_text()
    assert Job.select().count() == 0


def test_a_password_protected_workbook_is_refused_in_the_sentence_jobs_create_says(folder, clock):
    path = folder.root / "invoices" / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)  # OLE, as Excel encrypts
    with pytest.raises(WorkbookError) as by_the_cli:
        folder.service.create(JobRequest(path, profile="invoices"))
    [outcome] = settle(folder, clock)
    assert outcome.reason == str(by_the_cli.value)
    assert "locked.xlsx is password-protected (encrypted); remove the password" in outcome.reason


def test_the_file_a_job_was_made_from_is_archived_without_a_second_job(folder, clock):
    path = write_workbook(folder.root / "invoices" / "again.xlsx", [["100001"]])
    # The watcher made the job, then stopped before moving the file.
    job = folder.service.create(
        JobRequest(path, profile="invoices", source="dropfolder", start=False)
    )
    [outcome] = settle(folder, clock)
    assert outcome.job_id == job.id
    assert outcome.moved_to.is_relative_to(folder.archive)
    assert Job.select().count() == 1


@pytest.mark.parametrize("second_name", ["march.xlsx", "march-copy.xlsx"])
def test_the_same_content_dropped_again_is_rejected_naming_the_earlier_job(
    folder, clock, second_name
):
    first = write_workbook(folder.root / "invoices" / "march.xlsx", [["100001"]])
    content = first.read_bytes()
    [accepted] = settle(folder, clock)
    (folder.root / "invoices" / second_name).write_bytes(content)
    [outcome] = settle(folder, clock)
    assert not outcome.accepted
    assert outcome.moved_to.parent == folder.rejected
    job = accepted.job_id[:8]
    reason = reason_file(outcome.moved_to).read_text()
    assert f"{second_name} has the same content (SHA-256) as the workbook of job {job}" in reason
    assert f"it has not ended yet: `exmado jobs wait {job}` follows it" in reason
    assert '[dropfolder] duplicates = "accept"' in reason
    assert Job.select().count() == 1


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        ("COMPLETED", "it completed: its files are in {output}"),
        ("COMPLETED_WITH_ERRORS", "to run its unfinished rows again use `exmado jobs retry {id}`"),
        ("FAILED", "to run its unfinished rows again use `exmado jobs retry {id}`"),
        ("CANCELLED", "to run its unfinished rows again use `exmado jobs retry {id}`"),
        ("PAUSED", "it is paused: `exmado jobs resume {id}` continues it"),
        ("RUNNING", "it has not ended yet: `exmado jobs wait {id}` follows it"),
    ],
)
def test_a_duplicate_says_what_works_for_the_earlier_job_s_status(folder, clock, status, advice):
    first = write_workbook(folder.root / "invoices" / "march.xlsx", [["100001"]])
    content = first.read_bytes()
    [accepted] = settle(folder, clock)
    Job.update(status=status).where(Job.id == accepted.job_id).execute()
    (folder.root / "invoices" / "again.xlsx").write_bytes(content)
    [outcome] = settle(folder, clock)
    job = Job.get_by_id(accepted.job_id)
    assert advice.format(id=job.id[:8], output=job.output_dir) in outcome.reason


def test_duplicates_accept_makes_a_new_job_of_every_copy(store, clock):
    settings = replace(store.dropfolder, duplicates=Duplicates.ACCEPT)
    folder = DropFolder(settings, JobService(store), clock=clock)
    folder.prepare()
    first = write_workbook(folder.root / "invoices" / "march.xlsx", [["100001"]])
    content = first.read_bytes()
    [one] = settle(folder, clock)
    (folder.root / "invoices" / "march.xlsx").write_bytes(content)
    [two] = settle(folder, clock)
    assert one.accepted and two.accepted and one.job_id != two.job_id


def test_jobs_created_while_redis_is_away_are_queued_later(folder, clock, redis_server, redis_url):
    redis_server.stop()
    try:
        write_workbook(folder.root / "invoices" / "late.xlsx", [["100001"]])
        [outcome] = settle(folder, clock)
        assert outcome.accepted
        assert Job.get_by_id(outcome.job_id).queued_at is None
    finally:
        redis_server.start()
    folder.tick()
    assert Job.get_by_id(outcome.job_id).queued_at is not None
    assert [m["args"] for m in queued_messages(redis_url)] == [[outcome.job_id]]


def test_the_watch_loop_picks_up_a_dropped_file(store):
    drop = DropFolder(store.dropfolder, JobService(store))
    path = drop.root / "invoices" / "live.xlsx"
    assert watch_until_a_job(drop, lambda: write_workbook(path, [["100001"]])) == 1


@pytest.mark.slow
def test_exmado_watch_logs_one_line_per_file_accepted_rejected_or_skipped(store, tmp_path):
    host = tmp_path / "host.toml"
    host.write_text("[dropfolder]\nstable_s = 0.2\n")
    env = {
        **os.environ,
        "EXMADO_CONFIG": str(host),
        "EXMADO_DATA_DIR": str(store.data_dir),
        "EXMADO_DROP_FOLDER": str(store.dropfolder.path),
        "EXMADO_PROFILES_DIR": str(store.profiles_dir),
        "REDIS_URL": store.broker.url,
    }
    invoices = store.dropfolder.path / "invoices"
    watcher = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", "watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = watcher.stdout.readline() if watcher.stdout else ""
        assert first.startswith(f"Watching {store.dropfolder.path} — drop workbooks into its")
        assert first.endswith("profile folders (invoices, personnel).\n")  # not archive, rejected
        first = write_workbook(invoices / "march.xlsx", [["100001"]])
        content = first.read_bytes()
        wait_until(lambda: Job.select().count() == 1)
        (invoices / "march-copy.xlsx").write_bytes(content)
        (invoices / "~$march.xlsx").write_bytes(b"lock")
        (invoices / "broken.xlsx").write_bytes(content[:100])
        rejected = store.dropfolder.path / store.dropfolder.rejected
        wait_until(lambda: len(list(rejected.glob(f"*{REASON_SUFFIX}"))) == 2)
    finally:
        watcher.terminate()
        output = watcher.communicate(timeout=15)[0]
    lines = output.splitlines()
    assert len([line for line in lines if "accepted march.xlsx: new job" in line]) == 1
    assert len([line for line in lines if "rejected march-copy.xlsx: " in line]) == 1
    assert len([line for line in lines if "rejected broken.xlsx: " in line]) == 1
    assert len([line for line in lines if "skipped " in line and "~$march.xlsx" in line]) == 1
    [job] = Job.select()
    assert job.created_by.endswith(" (drop folder)")  # no Redis here: nobody started it


def wait_until(check, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the watcher did not get there in time"
        time.sleep(0.1)


def test_a_workbook_open_in_excel_becomes_its_job_with_a_warning(folder, clock, caplog):
    write_workbook(folder.root / "invoices" / "march.xlsx", [["100001"]])
    (folder.root / "invoices" / "~$march.xlsx").write_bytes(b"\x0bjdoe" + bytes(150))
    [outcome] = settle(folder, clock)
    assert outcome.accepted
    assert "march.xlsx is open in Excel (its lock file ~$march.xlsx is beside it)" in caplog.text
