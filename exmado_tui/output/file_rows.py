"""A job's files from the store, `CHUNK` at a time: in path order (the manifest, the metadata
files) or in row order (the Documents sheet). Each is a named tuple of the file's columns
with its row's number; `tick` runs after each chunk (a worker beats the job's heart)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

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

    return _paged(_files(job_id).order_by(JobFile.path, JobFile.id), after, tick)


def in_row_order(job_id: str, tick: Callable[[], None]) -> Iterator[Any]:
    """By row number, then id."""

    def after(last: Any) -> Expression:
        same_row = (JobRow.row_number == last.row_number) & (JobFile.id > last.id)
        return (JobRow.row_number > last.row_number) | same_row

    return _paged(_files(job_id).order_by(JobRow.row_number, JobFile.id), after, tick)


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
    return JobFile.select(*COLUMNS).join(JobRow).where(JobFile.job == job_id).limit(CHUNK)


def _paged(
    query: Query, after: Callable[[Any], Expression], tick: Callable[[], None]
) -> Iterator[Any]:
    page = query
    while chunk := list(page.namedtuples()):
        yield from chunk
        page = query.where(after(chunk[-1]))
        tick()
