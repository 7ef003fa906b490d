"""A drop folder others can write into: links, hard links, pipes and odd names are refused
without being opened or quoted, and no one file stops the watcher."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import peewee
import pytest

from exmado_tui.dropfolder.watch import DropFolder, reason_file
from exmado_tui.files import MAX_COMPONENT_BYTES
from exmado_tui.job.service import JobService
from exmado_tui.store.models import Job, JobWorkbook
from tests.drop_folder import settle, watch_until_a_job
from tests.reliability.harness import wait_for
from tests.workbooks import write_workbook

SECRET = "s3cret-line-of-a-file-the-dropper-cannot-read"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "secret.csv"
    path.parent.mkdir()
    path.write_text(f"{SECRET}\nrow\n")
    path.chmod(0o600)
    return path


def test_a_link_to_a_secret_is_refused_unread_and_never_quoted(folder, clock, secret, caplog):
    link = folder.root / "invoices" / "keys.csv"
    link.symlink_to(secret)
    [outcome] = settle(folder, clock)
    assert outcome.reason == (
        "keys.csv is a symbolic link, which the drop folder never follows; copy the workbook"
        " itself into the folder."
    )
    assert outcome.moved_to.is_symlink() and outcome.moved_to.parent == folder.rejected
    assert SECRET not in reason_file(outcome.moved_to).read_text() + caplog.text
    assert secret.read_text().startswith(SECRET)  # the target itself is left alone
    assert Job.select().count() == 0 and JobWorkbook.select().count() == 0


def test_a_link_to_a_workbook_elsewhere_makes_no_job(folder, clock, tmp_path):
    private = write_workbook(tmp_path / "private.xlsx", [["100001"]])
    private.chmod(0o600)
    (folder.root / "invoices" / "march.xlsx").symlink_to(private)
    [outcome] = settle(folder, clock)
    assert "march.xlsx is a symbolic link" in outcome.reason
    assert Job.select().count() == 0 and JobWorkbook.select().count() == 0


def test_a_link_to_a_folder_is_refused_and_its_files_left_where_they_are(folder, clock, tmp_path):
    other = tmp_path / "someone-else"
    other.mkdir()
    (other / "theirs.xlsx").write_bytes(b"PK\x03\x04")
    (folder.root / "invoices-link").symlink_to(other, target_is_directory=True)
    [outcome] = settle(folder, clock)
    assert "invoices-link is a symbolic link" in outcome.reason
    assert (other / "theirs.xlsx").exists() and outcome.moved_to.is_symlink()


def test_a_hard_link_is_refused(folder, clock, tmp_path):
    original = write_workbook(tmp_path / "original.xlsx", [["100001"]])
    os.link(original, folder.root / "invoices" / "linked.xlsx")
    [outcome] = settle(folder, clock)
    assert outcome.reason == (
        "linked.xlsx is a hard link to a file that has 2 names; the drop folder takes only files"
        " of their own: copy the workbook in instead of linking it."
    )
    assert Job.select().count() == 0


def test_a_named_pipe_is_refused_without_being_opened(folder, clock):
    os.mkfifo(folder.root / "invoices" / "pipe.xlsx")  # opened for reading, it would block
    [outcome] = settle(folder, clock)
    assert (
        outcome.reason == "pipe.xlsx is a named pipe (FIFO), not a file; drop the workbook itself."
    )


def test_a_name_that_is_not_utf8_is_refused_escaped_and_the_next_file_goes_on(folder, clock):
    raw = os.fsdecode(b"caf\xe9-latin1.xlsx")
    write_workbook(folder.root / "invoices" / raw, [["100001"]])
    [outcome] = settle(folder, clock)
    assert outcome.reason.startswith("Workbook caf\\xe9-latin1.xlsx has a name that is not valid")
    assert outcome.moved_to.name == raw and reason_file(outcome.moved_to).is_file()
    write_workbook(folder.root / "invoices" / "next.xlsx", [["100001"]])
    [accepted] = settle(folder, clock)
    assert accepted.accepted


def test_a_255_byte_name_gets_a_shortened_reason_file(folder, clock):
    name = "n" * 251 + ".txt"
    (folder.root / "invoices" / name).write_text("not a workbook")
    [outcome] = settle(folder, clock)
    sidecar = reason_file(outcome.moved_to)
    assert outcome.moved_to.name == name
    assert len(sidecar.name.encode()) <= MAX_COMPONENT_BYTES and sidecar.name.endswith(".txt")
    assert "is not an Excel workbook" in sidecar.read_text()


def test_a_reason_file_name_planted_as_a_link_is_replaced_not_followed(folder, clock, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (folder.rejected / "notes.txt.reason.txt").symlink_to(victim)
    (folder.root / "invoices" / "notes.txt").write_text("hello")
    [outcome] = settle(folder, clock)
    assert victim.read_text() == "keep me"
    assert "not an Excel workbook" in reason_file(outcome.moved_to).read_text()


def test_a_job_is_made_from_the_copy_read_through_the_checked_descriptor(folder, clock):
    dropped = write_workbook(folder.root / "invoices" / "march.xlsx", [["100001"]])
    content = dropped.read_bytes()
    [outcome] = settle(folder, clock)
    job = Job.get_by_id(outcome.job_id)
    assert job.workbook_name == "march.xlsx" and Path(job.workbook_path).read_bytes() == content
    assert not any(folder.incoming.iterdir())  # the intake copy is gone once the job is made


def test_a_tick_on_a_deleted_drop_folder_finds_nothing(folder, clock):
    write_workbook(folder.root / "invoices" / "march.xlsx", [["100001"]])
    folder.tick()
    shutil.rmtree(folder.root)
    assert folder.tick() == []


def test_a_file_whose_job_cannot_be_stored_yet_is_tried_again(folder, clock, monkeypatch, caplog):
    create, calls = folder.service.create, []

    def locked_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise peewee.OperationalError("database is locked")
        return create(*args, **kwargs)

    monkeypatch.setattr(folder.service, "create", locked_once)
    dropped = write_workbook(folder.root / "invoices" / "march.xlsx", [["100001"]])
    assert settle(folder, clock) == []
    assert dropped.exists() and "could not take in" in caplog.text
    [outcome] = settle(folder, clock)
    assert outcome.accepted


def test_a_look_that_fails_never_stops_the_watch_loop(store, monkeypatch, caplog):
    drop = DropFolder(store.dropfolder, JobService(store))
    queue, calls = drop._queue_unqueued, []

    def failing_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise peewee.OperationalError("disk I/O error")
        queue()

    monkeypatch.setattr(drop, "_queue_unqueued", failing_once)
    path = drop.root / "invoices" / "live.xlsx"
    assert watch_until_a_job(drop, lambda: write_workbook(path, [["100001"]])) == 1
    assert "the drop folder's look failed (OperationalError: disk I/O error)" in caplog.text


@pytest.mark.parametrize("poll", [False, True], ids=["os-events", "polling"])
def test_a_name_not_in_utf8_never_stops_the_watch_loop(store, poll, caplog):
    """watchfiles cannot name such a file, with OS events or polling: the loop goes on ticking."""
    drop = DropFolder(replace(store.dropfolder, poll=poll, stable_s=0.2), JobService(store))
    bad = drop.root / "invoices" / os.fsdecode(b"caf\xe9-latin1.xlsx")

    def dropped() -> None:
        write_workbook(bad, [["100001"]])
        wait_for(reason_file(drop.rejected / bad.name).is_file, 15, "the name to be refused")
        write_workbook(drop.root / "invoices" / "next.xlsx", [["100002"]])

    assert watch_until_a_job(drop, dropped) == 1
    assert "change events failed" in caplog.text


def test_a_drop_folder_deleted_and_half_made_again_gets_its_profile_folders_back(store):
    """Deleted while a file was being archived: the archive's move makes the root and archive/
    again, not the profile folders; the loop makes those, and the next workbook is a job."""
    drop = DropFolder(replace(store.dropfolder, stable_s=0.2), JobService(store))

    def removed() -> bool:  # the loop, just started, may be making the folders meanwhile
        try:
            shutil.rmtree(drop.root)
        except OSError:
            return False
        return True

    def dropped() -> None:
        wait_for(removed, 5, "the drop folder deleted")
        drop.archive.mkdir(parents=True, exist_ok=True)
        wait_for((drop.root / "invoices").is_dir, 15, "the profile folder to be made again")
        write_workbook(drop.root / "invoices" / "after.xlsx", [["100001"]])

    assert watch_until_a_job(drop, dropped) == 1
