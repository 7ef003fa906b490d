"""A full disk stops the job at once: PAUSED with a sentence, rows in flight still pending.

Real small file systems (tmpfs), the pipeline in-process with the fake DocuWare client.
"""

from __future__ import annotations

import errno
import hashlib
import json
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from exmado_tui.errors import StoreUnavailableError
from exmado_tui.files import is_no_space, no_space
from exmado_tui.output.report import MANIFEST_NAME, REPORT_NAME
from exmado_tui.store.models import Job, JobFile, JobRow, NotifyEvent
from exmado_tui.store.queries import get_job, job_events
from tests.pipeline_harness import Pipeline, invoice_docs
from tests.small_disk import fill, resize, small_disk

BODY = 150 * 1024  # 2 MB holds a dozen of them, not 40
ROWS = 40


def big_documents(pipeline: Pipeline) -> None:
    pipeline.client.docs = invoice_docs(ROWS)
    for doc in pipeline.client.docs:
        doc.body = f"%PDF {doc.id} ".encode() + bytes([doc.id % 251]) * BODY


def keys() -> list[str]:
    return [str(100000 + i) for i in range(1, ROWS + 1)]


def test_a_full_output_disk_pauses_the_job_and_resume_completes_it(
    tmp_path: Path, redis_url: str
) -> None:
    with small_disk(tmp_path / "out", "2m") as out:
        pipeline = Pipeline(tmp_path, redis_url)
        big_documents(pipeline)
        job_id = pipeline.create(keys())
        Job.update(output_dir=str(out / "job")).where(Job.id == job_id).execute()
        pipeline.service.start(job_id)
        job = pipeline.run(job_id)

        assert job.status == "PAUSED" and job.wait_reason == "paused: no space left"
        assert job.last_error.startswith(f"No space left in the output folder {out / 'job'} (")
        assert job.last_error.endswith(f"`exmado jobs resume {job_id[:8]}`.")
        assert get_job(job_id).last_error == job.last_error  # what `jobs show` prints
        [notice] = NotifyEvent.select()  # written with the pause, for the [[notify]] targets
        assert notice.kind == "job.needs_attention" and notice.job_id == job_id
        assert notice.body["data"]["reason"] == job.last_error
        statuses = {r.status for r in JobRow.select()}
        assert statuses == {"done", "pending"}  # nothing failed for want of space
        assert 0 < job.done_rows < ROWS
        assert not [p for p in out.rglob("*") if p.name.endswith("part")]
        paused_files = on_disk(out / "job")
        assert len(paused_files) == JobFile.select().count()  # only whole, recorded files

        resize(out, "20m")  # space freed
        pipeline.service.resume(job_id)
        job = pipeline.run(job_id, token="m2")
        assert job.status == "COMPLETED" and job.found_rows == ROWS and job.last_error == ""
        final = on_disk(out / "job")
        assert paused_files.items() <= final.items()  # the same files, not written again
        manifest = json.loads((out / "job" / MANIFEST_NAME).read_text())
        assert {e["path"]: e["sha256"] for e in manifest["files"]} == final
        assert max(pipeline.client.downloads.values()) <= 2  # only rows in flight again


def on_disk(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in (MANIFEST_NAME, REPORT_NAME)
    }


@pytest.mark.parametrize("left", [0, 60_000], ids=["full-at-claim", "full-mid-job"])
def test_a_full_store_disk_fails_no_row_and_the_job_completes_once_space_is_freed(
    tmp_path: Path, redis_url: str, caplog: pytest.LogCaptureFixture, left: int
) -> None:
    with small_disk(tmp_path / "data", "4m") as data:
        pipeline = Pipeline(tmp_path, redis_url, heartbeat_s=0.1, stale_after_s=0.3)
        job_id = pipeline.create(keys())
        pipeline.service.start(job_id)
        filler = fill(data, leave=left)
        try:
            pipeline.run(job_id)
        except StoreUnavailableError as exc:  # at claim: the message is tried again later
            assert exc.retryable
        said = f"No space left in the job store's folder {data} ("
        assert said in caplog.text and "Traceback" not in caplog.text

        filler.unlink()  # space freed
        # a run that could not record its stop is taken over once stale: its slot's lease is
        # a Redis key whose TTL runs on Redis's clock, so the real time must pass
        time.sleep(0.4)
        job = pipeline.run(job_id, token="m2")
        if job.status == "PAUSED":
            pipeline.service.resume(job_id)
            job = pipeline.run(job_id, token="m3")
        assert job.status == "COMPLETED" and job.found_rows == ROWS
        assert {(r.status, r.attempts) for r in JobRow.select()} == {("done", 1)}


@pytest.mark.parametrize(
    ("error", "full"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
        (sqlite3.OperationalError("database or disk is full"), True),
        (sqlite3.OperationalError("database is locked"), False),
        (OSError(errno.EACCES, "Permission denied"), False),
    ],
)
def test_a_full_disk_or_quota_is_told_apart_from_other_errors(error: Exception, full: bool) -> None:
    try:
        try:
            raise error
        except Exception as exc:
            raise RuntimeError("while writing") from exc
    except RuntimeError as wrapped:
        assert is_no_space(wrapped) is full


def test_the_sentence_names_the_folder_and_its_free_space(tmp_path: Path) -> None:
    with small_disk(tmp_path / "small", "1m") as small:
        fill(small, leave=12 * 1024)
        said = str(no_space(small / "not yet made", "the output folder"))
    assert said.startswith(f"No space left in the output folder {small / 'not yet made'} (")
    assert said.endswith(" KB free)")


@pytest.mark.parametrize("blocked", ["full", "read-only"])
def test_a_row_stopped_by_its_folder_after_an_overwrite_still_tells_the_overwrite(
    tmp_path: Path, redis_url: str, blocked: str
) -> None:
    """Invoice 100025's document 25 overwrites another's file; its document 1025 then meets
    a full disk (a body larger than the disk) or a read-only one. The job pauses with the row
    pending, and its redo finds the file identical and says nothing: the job's events must
    say the file was overwritten, once."""
    with small_disk(tmp_path / "out", "1m") as out:
        pipeline = Pipeline(tmp_path, redis_url)
        job_id = pipeline.create([100025], on_existing="overwrite")
        Job.update(output_dir=str(out / "job")).where(Job.id == job_id).execute()
        folder = out / "job" / "A_B Corp" / "2023"
        folder.mkdir(parents=True)
        (folder / "100025.pdf").write_bytes(b"someone else's file")
        download = pipeline.client.download

        async def second_blocked(doc: Any, dest: Path, **options: Any) -> Any:
            if doc.id == 1025 and blocked == "full":
                doc.body = b"%PDF " + b"\0" * 2 * 1024 * 1024
            if doc.id == 1025 and blocked == "read-only":
                subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
            return await download(doc, dest, **options)

        pipeline.client.download = second_blocked  # type: ignore[method-assign]
        pipeline.service.start(job_id)
        job = pipeline.run(job_id)
        assert job.status == "PAUSED" and JobRow.get().status == "pending", job.last_error
        assert (folder / "100025.pdf").read_bytes() == b"%PDF document 25"

        subprocess.run(["mount", "-o", "remount,rw,size=20m", str(out)], check=True)
        pipeline.client.download = download  # type: ignore[method-assign]
        pipeline.service.resume(job_id)
        job = pipeline.run(job_id, token="m2")
        assert job.status == "COMPLETED" and JobRow.get().status == "done"
        told = [e.message for e in job_events(job_id) if e.message.startswith("Overwrote")]
        assert told == ["Overwrote A_B Corp/2023/100025.pdf (different content)."]
