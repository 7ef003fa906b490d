"""Writing progress back: row results, files, events and counters in one transaction a batch.

The runner calls `flush` every `FLUSH_S` seconds or `FLUSH_ROWS` results, whichever comes
first, so the TUI sees a change within a second without a transaction per row. A run begins
with `recount` (a retry resets rows and leaves the counters to it); each flush then adds what
its batch changed, in the batch's transaction, so the counters are right after any crash and a
flush costs what its batch holds — a recount reads every row and file of the job (at 100,000
files, a quarter of a second a flush).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from peewee import Case, fn

from exmado_tui.formatting import visible
from exmado_tui.job.status import Event, RowStatus
from exmado_tui.store.bulk import insert_ignoring
from exmado_tui.store.db import database, utcnow
from exmado_tui.store.models import Job, JobEvent, JobFile, JobRow
from exmado_tui.store.queries import row_counts
from workers import metrics
from workers.pipeline.files import FileRecord, doc_key
from workers.pipeline.rows import RowResult

FLUSH_S = 0.5
FLUSH_ROWS = 200
ERROR_LENGTH = 2000
UPDATE_ROWS = 200  # ids and CASE values stay well under SQLite's 999 parameters


def flush(job_id: str, results: list[RowResult], events: Iterable[Event] = ()) -> None:
    events = list(events) + [e for r in results for e in r.events]
    if not results and not events:
        return
    now = utcnow()
    with database.atomic():
        written = _write_rows(results, now)
        files = [_file(job_id, r.task.id, f, now) for r in results for f in r.files]
        paths = list({f["path"] for f in files})
        before = _largest_by_path(job_id, paths)
        for start in range(0, len(files), 100):
            insert_ignoring(JobFile, files[start : start + 100])
        after = _largest_by_path(job_id, paths) if files else before
        if events:
            JobEvent.insert_many(
                [
                    {"job": job_id, "at": now, "level": e.level, "message": visible(e.text)}
                    for e in events
                ]
            ).execute()
        _add_to_counters(job_id, written, before, after)
    metrics.rows_written(written, (f for r in results for f in r.files))


def _write_rows(results: list[RowResult], now: Any) -> dict[RowStatus, int]:
    """One UPDATE per outcome (status, documents) and `UPDATE_ROWS` rows, not one a row.

    Rows differing only in their error sentence share the statement (a CASE on the row id).
    A result failed as at import is marked so, without an attempt (see
    `RowResult.failed_at_import`).
    Only pending rows are written, and a row twice in `results` keeps its first result, as
    one UPDATE a row in this order would have left it. Returns the rows written, by status.
    """
    groups: dict[tuple[RowStatus, int, bool], dict[int, str]] = {}
    seen: set[int] = set()
    for result in results:
        if result.task.id not in seen:
            seen.add(result.task.id)
            key = (result.status, result.documents, result.failed_at_import)
            groups.setdefault(key, {})[result.task.id] = result.error[:ERROR_LENGTH]
    written: dict[RowStatus, int] = {}
    for (status, documents, at_import), errors in groups.items():
        ids = list(errors)
        for start in range(0, len(ids), UPDATE_ROWS):
            chunk = ids[start : start + UPDATE_ROWS]
            written[status] = (
                written.get(status, 0)
                + JobRow.update(
                    status=status,
                    error=_error_of(chunk, errors),
                    documents=documents,
                    failed_at_import=at_import,  # `jobs.FAILED_AT_IMPORT`: another run cannot help
                    attempts=0 if at_import else JobRow.attempts + 1,
                    updated_at=now,
                )
                .where(JobRow.id.in_(chunk) & (JobRow.status == RowStatus.PENDING))
                .execute()
            )
    return written


def _error_of(ids: list[int], errors: dict[int, str]) -> Any:
    """The one error text of these rows, or a CASE giving each row its own."""
    texts = {errors[i] for i in ids}
    if len(texts) == 1:
        return texts.pop()
    return Case(JobRow.id, [(i, errors[i]) for i in ids])


def _file(job_id: str, row_id: int, record: FileRecord, now: Any) -> dict[str, Any]:
    return {
        "job": job_id,
        "row": row_id,
        "cabinet_id": record.cabinet_id,
        "document_id": record.document_id,
        "path": record.path,
        "size": record.size,
        "sha256": record.sha256,
        "modified_at": record.modified,
        "index_data": record.index_data,
        "created_at": now,
    }


def _largest_by_path(job_id: str, paths: list[str]) -> dict[str, int]:
    """Of these paths, those the job has files at, each with its largest file's size."""
    largest: dict[str, int] = {}
    for start in range(0, len(paths), UPDATE_ROWS):
        query = (
            JobFile.select(JobFile.path, fn.MAX(JobFile.size))
            .where((JobFile.job == job_id) & JobFile.path.in_(paths[start : start + UPDATE_ROWS]))
            .group_by(JobFile.path)
            .tuples()
        )
        largest.update(cast("Iterable[tuple[str, int]]", query))
    return largest


def _add_to_counters(
    job_id: str, written: dict[RowStatus, int], before: dict[str, int], after: dict[str, int]
) -> None:
    """Add a batch's rows (by status) and files (paths new to the job, sizes grown) to the
    job's counters: what `recount` would find, without reading the rest of the job."""
    grown = sum(size - before.get(path, 0) for path, size in after.items())
    Job.update(
        done_rows=Job.done_rows
        + sum(n for status, n in written.items() if status != RowStatus.PENDING),
        found_rows=Job.found_rows + written.get(RowStatus.DONE, 0),
        not_found_rows=Job.not_found_rows + written.get(RowStatus.NOT_FOUND, 0),
        ambiguous_rows=Job.ambiguous_rows + written.get(RowStatus.AMBIGUOUS, 0),
        failed_rows=Job.failed_rows + written.get(RowStatus.FAILED, 0),
        skipped_rows=Job.skipped_rows + written.get(RowStatus.SKIPPED, 0),
        files_count=Job.files_count + len(after.keys() - before.keys()),
        bytes_downloaded=Job.bytes_downloaded + grown,
        updated_at=utcnow(),
    ).where(Job.id == job_id).execute()


def recount(job_id: str) -> dict[RowStatus, int]:
    """Set the job's counters from its rows and files; the row counts by status."""
    counts = row_counts(job_id)
    per_path = (
        JobFile.select(JobFile.path, fn.MAX(JobFile.size).alias("size"))
        .where(JobFile.job == job_id)
        .group_by(JobFile.path)
        .alias("p")
    )
    files, size = (
        JobFile.select(fn.COUNT(per_path.c.path), fn.SUM(per_path.c.size))
        .from_(per_path)
        .tuples()
        .first()
    )
    Job.update(
        done_rows=sum(n for status, n in counts.items() if status is not RowStatus.PENDING),
        found_rows=counts.get(RowStatus.DONE, 0),
        not_found_rows=counts.get(RowStatus.NOT_FOUND, 0),
        ambiguous_rows=counts.get(RowStatus.AMBIGUOUS, 0),
        failed_rows=counts.get(RowStatus.FAILED, 0),
        skipped_rows=counts.get(RowStatus.SKIPPED, 0),
        files_count=files or 0,
        bytes_downloaded=size or 0,
        updated_at=utcnow(),
    ).where(Job.id == job_id).execute()
    return counts


def known_files(job_id: str) -> dict[str, list[FileRecord]]:
    """Files earlier runs placed, by document: a retry does not fetch them again."""
    known: dict[str, dict[str, FileRecord]] = {}
    query = (
        JobFile.select(
            JobFile.cabinet_id,
            JobFile.document_id,
            JobFile.path,
            JobFile.size,
            JobFile.sha256,
            JobFile.modified_at,
        )
        .where(JobFile.job == job_id)
        .tuples()
    )
    for cabinet_id, document_id, path, size, sha, modified in query.iterator():
        record = FileRecord(document_id, cabinet_id, path, size, sha, modified)
        known.setdefault(doc_key(cabinet_id, document_id), {})[path] = record
    return {key: list(paths.values()) for key, paths in known.items()}


def pending_rows(job_id: str, after: int, limit: int) -> list[tuple[int, int, str, Any]]:
    # .tuples() yields plain tuples; peewee's stubs type the query as yielding models.
    return cast(
        "list[tuple[int, int, str, Any]]",
        list(
            JobRow.select(JobRow.id, JobRow.row_number, JobRow.key, JobRow.values)
            .where(
                (JobRow.job == job_id)
                & (JobRow.status == RowStatus.PENDING)
                & (JobRow.row_number > after)
            )
            .order_by(JobRow.row_number)
            .limit(limit)
            .tuples()
        ),
    )
