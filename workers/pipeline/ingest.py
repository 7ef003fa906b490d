"""A job's rows written to the store, exactly once: a workbook's rows (`ingest`), or the
documents a query finds (`ingest_query`).

Rows go in chunks, each its own transaction, with INSERT … ON CONFLICT DO NOTHING on the
unique (job, row_number): a redelivered message or a takeover after a crash reads again and
adds only what is missing.

From a workbook: a job whose rows are all in is not read again. Duplicate keys: the first row
with a key runs; later ones are `skipped` with `duplicate_of` pointing at it (the report shows
both). Rows with an error cell or an empty key are `failed` at import: no run tries them, and a
retry leaves them so.

From a query: the hits are read in ranges of document ids (`exmado_tui/docuware/paging.py`)
and each range goes in as rows in one transaction, numbered on from the rows before it; the key
of a row is the document's id. Ranges come in id order, so the rows stored are always the first
ones: a run killed while reading continues after the highest id stored. A `--since-last-run`
job's hit that an earlier run of its query exported at the same modified date goes in as a
skipped row (`job/query_source.py`), so it is counted, not exported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import peewee

from exmado_tui.config.profiles import Profile
from exmado_tui.docuware.errors import NotFoundError
from exmado_tui.docuware.paging import PAGE, RangeClient, Resolved, read_range, resolve
from exmado_tui.errors import QueryError
from exmado_tui.job.new_job import local_copy
from exmado_tui.job.query_source import COLUMN, Exported, QuerySource, exported_before, naive_utc
from exmado_tui.job.status import RowStatus
from exmado_tui.store.bulk import insert_ignoring
from exmado_tui.store.db import database, utcnow
from exmado_tui.store.models import Job, JobRow
from exmado_tui.workbook.checks import WorkbookLimits
from exmado_tui.workbook.reader import SheetRow, no_data_rows, open_workbook

# -- from a workbook ---------------------------------------------------------------------------

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
            insert_ignoring(JobRow, batch)


# -- from a query ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One document a query found: its id, and when it was last modified (naive UTC)."""

    id: int
    modified: datetime | None


ReadHits = Callable[[int], list[Hit]]  # the hits of the range after this id; [] at the end


@dataclass(frozen=True)
class QueryIngested:
    total: int
    ranges: int  # ranges read by this run (a resumed run reads only the rest)


class QueryReader:
    """One query's ranges, on the worker's DocuWare client (runs on its event loop)."""

    def __init__(self, client: RangeClient, source: QuerySource) -> None:
        self.client = client
        self.source = source
        self.resolved: Resolved | None = None
        self.page = PAGE

    async def ids_after(self, after: int) -> list[Hit]:
        """The hits of the next range, in id order; the cabinet, dialog and conditions are
        resolved at the first (a field gone from DocuWare fails the job in one sentence)."""
        dialog = self.source.dialog or None
        if self.resolved is None:
            try:
                found = await self.client.dialog(self.source.cabinet, dialog)
                self.resolved = await resolve(
                    self.client, self.source.cabinet, found, self.source.wanted()
                )
            except (NotFoundError, ValueError) as exc:
                raise QueryError(str(exc)) from None
        documents, self.page = await read_range(
            self.client,
            self.source.cabinet,
            self.resolved,
            dialog=dialog,
            after=after,
            page=self.page,
        )
        return [Hit(doc.id, naive_utc(doc.last_modified)) for doc in documents]


def ingest_query(job: Job, read: ReadHits, between_ranges: Callable[[], None]) -> QueryIngested:
    """Store the rows the query finds after those already stored; return the total."""
    stored, after = _stored(job.id)
    new_only = bool(job.config.get("query", {}).get("since_last_run"))
    ranges = 0
    while hits := read(after):
        before = exported_before(job.query_fingerprint, job.id, (h.id for h in hits))
        _insert_hits(job.id, stored, hits, before if new_only else {})
        stored, after, ranges = stored + len(hits), hits[-1].id, ranges + 1
        between_ranges()
    Job.update(total_rows=stored, updated_at=utcnow()).where(Job.id == job.id).execute()
    return QueryIngested(stored, ranges)


def _stored(job_id: str) -> tuple[int, int]:
    """How many rows are stored and the document id of the last (0: none yet)."""
    last = (
        JobRow.select(JobRow.row_number, JobRow.key)
        .where(JobRow.job == job_id)
        .order_by(JobRow.row_number.desc())
        .first()
    )
    if last is None:
        return 0, 0
    count = JobRow.select(peewee.fn.COUNT(JobRow.id)).where(JobRow.job == job_id).scalar()
    return int(count), int(last.key)


def _insert_hits(job_id: str, stored: int, hits: list[Hit], before: Exported) -> None:
    rows = [_hit_row(job_id, stored + number, hit, before) for number, hit in enumerate(hits, 1)]
    with database.atomic():
        insert_ignoring(JobRow, rows)


def _hit_row(job_id: str, number: int, hit: Hit, before: Exported) -> dict[str, object]:
    """A hit's row: pending, or skipped when an earlier run exported it as it is now."""
    row: dict[str, object] = {
        "job": job_id,
        "row_number": number,
        "key": str(hit.id),
        "values": {COLUMN: str(hit.id)},
        "status": RowStatus.PENDING,
    }
    if hit.modified is not None and (earlier := before.get((str(hit.id), hit.modified))):
        row["status"] = RowStatus.SKIPPED
        row["error"] = f"Exported by job {earlier[:8]} with the same modified date; not again."
    return row
