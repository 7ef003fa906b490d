"""A query job's rows: the documents its query finds, written to the store exactly once.

The hits are read in ranges of document ids (`exmado_tui/docuware/paging.py`) and each
range goes in as rows in one transaction, numbered on from the rows before it; the key of a
row is the document's id. Ranges come in id order, so the rows stored are always the first
ones: a run killed while reading continues after the highest id stored, and a redelivered
message adds nothing twice (INSERT … ON CONFLICT DO NOTHING on (job, row_number), as for a
workbook). A `--since-last-run` job's hit that an earlier run of its query exported at the
same modified date goes in as a skipped row (`job/since.py`), so it is counted, not exported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import peewee

from exmado_tui.docuware.errors import NotFoundError
from exmado_tui.docuware.paging import PAGE, RangeClient, Resolved, read_range, resolve
from exmado_tui.errors import QueryError
from exmado_tui.job.query_source import COLUMN, QuerySource
from exmado_tui.job.since import Exported, exported_before, naive_utc
from exmado_tui.job.status import RowStatus
from exmado_tui.store.db import database, utcnow
from exmado_tui.store.models import Job, JobRow


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
        _insert(job.id, stored, hits, before if new_only else {})
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


def _insert(job_id: str, stored: int, hits: list[Hit], before: Exported) -> None:
    rows = [_row(job_id, stored + number, hit, before) for number, hit in enumerate(hits, 1)]
    with database.atomic():
        JobRow.insert_many(rows).on_conflict_ignore().execute()


def _row(job_id: str, number: int, hit: Hit, before: Exported) -> dict[str, object]:
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
