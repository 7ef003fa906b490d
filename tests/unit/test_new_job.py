"""A new job's workbook (`job.new_job`) travels in the store: a worker on another host reads it
from there."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from exmado_tui.config.settings import Settings
from exmado_tui.errors import WorkbookError
from exmado_tui.job.new_job import JobRequest, local_copy
from exmado_tui.job.service import JobService
from exmado_tui.store.models import Job, JobWorkbook
from tests.factories import insert_job
from tests.workbooks import write_workbook


def made_on_this_host(store: Settings, tmp_path: Path) -> Job:
    workbook = write_workbook(tmp_path / "Lieferanten.xlsx", [["100001"], ["100002"]])
    job = JobService(store).create(JobRequest(workbook, profile="invoices"))
    return Job.get_by_id(job.id)


def test_the_workbook_is_read_once_for_its_copy_and_the_store(
    store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workbook = write_workbook(tmp_path / "Lieferanten.xlsx", [["100001"], ["100002"]])
    read, read_bytes = [], Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: read.append(path) or read_bytes(path))
    job = Job.get_by_id(JobService(store).create(JobRequest(workbook, profile="invoices")).id)
    assert read == [workbook]  # not the private copy again
    stored = bytes(JobWorkbook.get(JobWorkbook.job == job.id).content)
    assert stored == Path(job.workbook_path).read_bytes() == workbook.read_bytes()
    assert job.workbook_sha256 == hashlib.sha256(stored).hexdigest()


def test_the_worker_on_the_creating_host_reads_the_private_copy(store: Settings, tmp_path):
    job = made_on_this_host(store, tmp_path)
    assert local_copy(job, tmp_path / "elsewhere") == Path(job.workbook_path)


def test_another_host_writes_its_own_copy_from_the_store(store: Settings, tmp_path: Path):
    job = made_on_this_host(store, tmp_path)
    original = Path(job.workbook_path).read_bytes()
    shutil.rmtree(store.data_dir / "workbooks")  # this host's data folder is not shared
    copy = local_copy(job, tmp_path / "host-b")
    assert copy.is_relative_to(tmp_path / "host-b") and copy.name == "Lieferanten.xlsx"
    assert copy.read_bytes() == original


def test_a_damaged_private_copy_is_replaced_from_the_store(store: Settings, tmp_path: Path):
    job = made_on_this_host(store, tmp_path)
    original = Path(job.workbook_path).read_bytes()
    Path(job.workbook_path).write_bytes(b"not the workbook")
    assert local_copy(job, tmp_path / "host-b").read_bytes() == original


def test_an_old_job_without_a_stored_workbook_says_where_to_run_it(store: Settings, tmp_path):
    insert_job("c" * 32, workbook_path=str(tmp_path / "gone.xlsx"), workbook_name="gone.xlsx")
    with pytest.raises(WorkbookError, match=r"gone\.xlsx of job cccccccc is not at .* this host"):
        local_copy(Job.get_by_id("c" * 32), tmp_path / "host-b")
