"""A job's files from the store, `CHUNK` at a time: in path order (the manifest, the metadata
files) or in row order (the Documents sheet). Each is a named tuple of the file's columns
with its row's number; `tick` runs after each chunk (a worker beats the job's heart)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, cast

from peewee import Expression, Query

from exmado_tui.store.models import JobFile, JobRow

CHUNK = 2000
COLUMNS = (
    JobFile.id,
    JobRow.row_number,
    JobFile.cabinet_id,
    JobFile.document_id,
    JobFile.path,
    JobFile.size,
    JobFile.sha256,
    JobFile.modified_at,
    JobFile.index_data,
)


def in_path_order(job_id: str, tick: Callable[[], None]) -> Iterator[Any]:
    """By path, then id (the index on the job's paths, migration 4)."""

    def after(last: Any) -> Expression:
        same_path = (JobFile.path == last.path) & (JobFile.id > last.id)
        return (JobFile.path > last.path) | same_path

    return _paged(_files(job_id).order_by(JobFile.path, JobFile.id).limit(CHUNK), after, tick)


def in_row_order(job_id: str, tick: Callable[[], None]) -> Iterator[Any]:
    """By row number, then id: a chunk of the job's rows at a time (the index on its row
    numbers), then their files (the index on a file's row), so each chunk costs its size."""
    last = 0
    while rows := list(_row_ids(job_id, last)):
        ids = [row_id for row_id, _ in rows]
        files = _files(job_id).where(JobFile.row.in_(ids))
        yield from files.order_by(JobRow.row_number, JobFile.id).namedtuples()
        last = rows[-1][1]
        tick()


def _row_ids(job_id: str, after: int) -> Iterator[tuple[int, int]]:
    """(id, row number) of the job's next `CHUNK` rows after row number `after`."""
    query = JobRow.select(JobRow.id, JobRow.row_number)
    query = query.where((JobRow.job == job_id) & (JobRow.row_number > after))
    return cast(
        "Iterator[tuple[int, int]]", iter(query.order_by(JobRow.row_number).limit(CHUNK).tuples())
    )


def first_per_path(items: Iterator[Any]) -> Iterator[Any]:
    """One file a path (the first row's), from files in path order."""
    last_path = None
    for item in items:
        if item.path != last_path:
            last_path = item.path
            yield item


def utc_text(moment: datetime | None) -> str | None:
    """A stored naive-UTC time as ISO text ending in Z (the manifest's, the metadata's)."""
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _files(job_id: str) -> Query:
    return JobFile.select(*COLUMNS).join(JobRow).where(JobFile.job == job_id)


def _paged(
    query: Query, after: Callable[[Any], Expression], tick: Callable[[], None]
) -> Iterator[Any]:
    page = query
    while chunk := list(page.namedtuples()):
        yield from chunk
        page = query.where(after(chunk[-1]))
        tick()
