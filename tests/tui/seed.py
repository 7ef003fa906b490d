"""Jobs in every state, written straight into the store, for TUI tests, snapshots and demos.

Ids, names and timestamps are fixed so screenshots are stable; `FROZEN_NOW` is the clock the
tests give the app.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from exmado_tui.job.status import JobStatus
from exmado_tui.services.queue import WORKER_KEY_PREFIX
from exmado_tui.store.models import Job, JobEvent, JobFile, JobRow

S = JobStatus
FROZEN_NOW = datetime(2025, 3, 14, 15, 0, 0)  # naive UTC, as the store keeps it

# name, status, total, done, found, not found, failed, minutes ago started, minutes taken
SEED: tuple[tuple[str, JobStatus, int, int, int, int, int, int | None, int | None], ...] = (
    ("Invoices March", S.RUNNING, 1200, 480, 450, 25, 5, 20, None),
    ("Contracts 2024", S.PAUSED, 300, 120, 110, 10, 0, 90, None),
    ("Personnel HR", S.PENDING, 0, 0, 0, 0, 0, None, None),
    ("Suppliers Q1", S.COMPLETED, 500, 500, 498, 2, 0, 300, 42),
    ("Credit notes", S.COMPLETED_WITH_ERRORS, 80, 80, 60, 12, 8, 400, 7),
    ("Old archive", S.FAILED, 900, 310, 300, 5, 5, 600, 15),
    ("Test run", S.CANCELLED, 40, 10, 10, 0, 0, 700, 2),
)


def job_id(index: int) -> str:
    return f"{index + 1:02x}c0ffee" + "0" * 22 + f"{index:02d}"


def make_job(
    index: int,
    name: str,
    status: JobStatus,
    *,
    total: int = 0,
    done: int = 0,
    found: int = 0,
    not_found: int = 0,
    failed: int = 0,
    started_ago_min: int | None = None,
    took_min: int | None = None,
    now: datetime = FROZEN_NOW,
    **extra: Any,
) -> Job:
    created = now - timedelta(minutes=(started_ago_min or 0) + 5 + index)
    started = None if started_ago_min is None else now - timedelta(minutes=started_ago_min)
    finished = (
        None if started is None or took_min is None else started + timedelta(minutes=took_min)
    )
    values: dict[str, Any] = {
        "id": job_id(index),
        "name": name,
        "user": "maria",
        "source": "dropfolder" if index % 3 == 2 else "tui",
        "status": status.value,
        "profile": "invoices",
        "config": {"cabinet": "Invoices", "columns": {"Invoice number": "INVOICE_NO"}},
        "workbook_name": f"{name.lower().replace(' ', '-')}.xlsx",
        "workbook_path": f"/tmp/exmado-seed/{name}.xlsx",
        "workbook_sha256": "ab" * 32,
        "output_dir": f"/tmp/exmado-seed/out/{index}",
        "total_rows": total,
        "done_rows": done,
        "found_rows": found,
        "not_found_rows": not_found,
        "failed_rows": failed,
        "created_at": created,
        "updated_at": created,
        "started_at": started,
        "finished_at": finished,
        "last_error": "DocuWare refused the login (401)." if status is S.FAILED else "",
        **extra,
    }
    return Job.create(**values)


def seed_jobs(now: datetime = FROZEN_NOW) -> list[str]:
    """The seven demo jobs, one per state (VALIDATING aside); returns their ids."""
    for index, (name, status, total, done, found, nf, failed, ago, took) in enumerate(SEED):
        make_job(
            index,
            name,
            status,
            total=total,
            done=done,
            found=found,
            not_found=nf,
            failed=failed,
            started_ago_min=ago,
            took_min=took,
            now=now,
        )
    return [job_id(i) for i in range(len(SEED))]


def seed_rows(job: str, count: int, *, done: int = 0, now: datetime = FROZEN_NOW) -> None:
    """`count` rows for a job: the first `done` finished (every 7th not found), the rest pending."""
    rows = []
    for n in range(count):
        status = "pending" if n >= done else "not_found" if n % 7 == 3 else "done"
        rows.append(
            {
                "job": job,
                "row_number": n + 2,
                "key": f"INV-{n + 1:06d}",
                "values": {"Invoice number": f"INV-{n + 1:06d}", "Supplier": "ACME"},
                "status": status,
                "attempts": 0 if status == "pending" else 1,
                "error": "No document matches INVOICE_NO." if status == "not_found" else "",
                "documents": 1 if status == "done" else 0,
                "updated_at": now,
            }
        )
    with Job._meta.database.atomic():
        for start in range(0, len(rows), 500):
            JobRow.insert_many(rows[start : start + 500]).execute()


def seed_files(job: str, rows: int, now: datetime = FROZEN_NOW) -> None:
    for row in JobRow.select().where((JobRow.job == job) & (JobRow.status == "done")).limit(rows):
        JobFile.create(
            job=job,
            row=row,
            cabinet_id="fc-invoices",
            document_id=str(1000 + row.row_number),
            path=f"ACME/2025/{row.key}.pdf",
            size=12345,
            sha256="cd" * 32,
            created_at=now,
        )


def seed_events(job: str, messages: list[str], now: datetime = FROZEN_NOW) -> None:
    for n, message in enumerate(messages):
        JobEvent.create(job=job, message=message, at=now - timedelta(seconds=60 - n))


def seed_worker(redis_url: str, host: str, jobs: list[str], pid: int = 1, threads: int = 1) -> None:
    """A live worker's presence entry in Redis (a minute to live), as the workers screen reads."""
    entry = {"id": "w1", "host": host, "pid": pid, "since": "2026-01-01T00:00:00Z",
             "threads": threads, "jobs": jobs}  # fmt: skip
    redis.Redis.from_url(redis_url).set(WORKER_KEY_PREFIX + "w1", json.dumps(entry), ex=60)


def seed_refused(drop: Path, name: str, reason: str) -> None:
    """A workbook the drop folder refused, with the reason file the watcher writes beside it."""
    rejected = drop / "rejected"
    rejected.mkdir(parents=True, exist_ok=True)
    (rejected / name).write_bytes(b"x")
    (rejected / f"{name}.reason.txt").write_text(reason + "\n")
