"""Validate the workbook and write its rows to the store, exactly once.

Rows go in chunks, each its own transaction, with INSERT … ON CONFLICT DO NOTHING on the
unique (job, row_number): a redelivered message or a takeover after a crash reads the
workbook again and adds only what is missing. A job whose rows are all in is not read again.
Duplicate keys: the first row with a key runs; later ones are `skipped` with `duplicate_of`
pointing at it (the report shows both). Rows with an error cell or an empty key are `failed`
at import: no run tries them, and a retry leaves them so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exmado_tui.config.profiles import Profile
from exmado_tui.job.new_job import local_copy
from exmado_tui.job.status import RowStatus
from exmado_tui.store.db import database, utcnow
from exmado_tui.store.models import Job, JobRow
from exmado_tui.workbook.guard import WorkbookLimits
from exmado_tui.workbook.reader import SheetRow, no_data_rows, open_workbook

CHUNK = 500
KEY_LENGTH = 255


@dataclass(frozen=True)
class Ingested:
    total: int
    bad: int
    duplicates: int
    sheet: str
    header_row: int


def already_ingested(job: Job) -> bool:
    return job.total_rows > 0 and JobRow.select().where(JobRow.job == job.id).count() == (
        job.total_rows
    )


def ingest(
    job: Job,
    profile: Profile,
    data_dir: Path,
    between_chunks: Callable[[], None],
    limits: WorkbookLimits | None = None,
) -> Ingested:
    """Read the workbook (from the store when this host has no copy of it), refuse it in one
    sentence, or store its rows; return the counts. `between_chunks` also runs while the
    workbook is checked and read, every few thousand rows, blank ones included."""
    reader = open_workbook(
        local_copy(job, data_dir),
        list(profile.columns),
        sheet=profile.sheet,
        header_row=profile.header_row,
        name=job.workbook_name,
        limits=limits,
        tick=between_chunks,
    )
    with reader:
        total, bad, duplicates = _store(job.id, reader.rows(), between_chunks)
        layout = reader.layout
    if total == 0:
        raise no_data_rows(job.workbook_name, layout.sheet)
    Job.update(total_rows=total, updated_at=utcnow()).where(Job.id == job.id).execute()
    return Ingested(total, bad, duplicates, layout.sheet, layout.header_row)


def _store(
    job_id: str, rows: Iterable[SheetRow], between_chunks: Callable[[], None]
) -> tuple[int, int, int]:
    seen: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    total = bad = duplicates = 0
    for row in rows:
        total += 1
        record = _record(job_id, row, seen)
        bad += record["failed_at_import"]
        duplicates += record["status"] is RowStatus.SKIPPED
        batch.append(record)
        if len(batch) >= CHUNK:
            _insert(batch)
            batch = []
            between_chunks()
    _insert(batch)
    return total, bad, duplicates


def _record(job_id: str, row: SheetRow, seen: dict[str, int]) -> dict[str, Any]:
    status, error, duplicate_of = RowStatus.PENDING, row.error, None
    if error:
        status = RowStatus.FAILED
    elif row.key in seen:
        status, duplicate_of = RowStatus.SKIPPED, seen[row.key]
        error = f"Same key as row {duplicate_of}; exported once, there."
    else:
        seen[row.key] = row.number
    return {
        "job": job_id,
        "row_number": row.number,
        "key": row.key[:KEY_LENGTH],
        "values": row.values,
        "status": status,
        "failed_at_import": status is RowStatus.FAILED,
        "error": error,
        "duplicate_of": duplicate_of,
    }


def _insert(batch: list[dict[str, Any]]) -> None:
    if batch:
        with database.atomic():
            JobRow.insert_many(batch).on_conflict_ignore().execute()
