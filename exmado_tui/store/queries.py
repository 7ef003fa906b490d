"""Read-only queries that return plain data for the CLI, the TUI and reports, and a job's
figures from them (progress; with a given clock, duration, rate and time left)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, cast

import peewee

from exmado_tui.errors import JobNotFoundError
from exmado_tui.job.status import ACTIVE, Control, JobStatus, RowStatus
from exmado_tui.store.models import Job, JobEvent, JobFile, JobRow

MIN_PREFIX = 4


@dataclass(frozen=True)
class JobSummary:
    """One job as lists show it."""

    id: str
    name: str
    status: JobStatus
    user: str
    source: str
    profile: str
    workbook_name: str
    output_dir: str
    total_rows: int
    done_rows: int
    found_rows: int
    not_found_rows: int
    ambiguous_rows: int
    failed_rows: int
    skipped_rows: int
    files_count: int
    bytes_downloaded: int
    control: Control | None
    wait_reason: str
    last_error: str
    worker: str
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def progress(self) -> float:
        """Share of rows finished, 0.0–1.0."""
        return self.done_rows / self.total_rows if self.total_rows else 0.0

    # Its figures that depend on the clock: `now` is given (naive UTC, as the store keeps it),
    # so the dashboard's snapshot tests can freeze it.

    def duration_s(self, now: datetime) -> float | None:
        if self.started_at is None:
            return None
        return max(0.0, ((self.finished_at or now) - self.started_at).total_seconds())

    def rows_per_s(self, now: datetime) -> float | None:
        seconds = self.duration_s(now)
        return self.done_rows / seconds if seconds and self.done_rows else None

    def eta_s(self, now: datetime) -> float | None:
        """Seconds left at the average rate so far; None unless the job is running."""
        rate = self.rows_per_s(now)
        if rate is None or self.status is not JobStatus.RUNNING:
            return None
        return max(0, self.total_rows - self.done_rows) / rate

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(short_id=self.short_id, progress=round(self.progress, 4))
        return {k: _jsonable(v) for k, v in data.items()}


@dataclass(frozen=True)
class JobDetail(JobSummary):
    """A job with the configuration it runs with and where its workbook lives."""

    config: dict[str, Any]
    workbook_path: str
    workbook_sha256: str
    runs: int
    created_by: str  # an actor: user, SSH address, host, door
    started_by: str

    @property
    def from_query(self) -> bool:
        """Its rows are the documents of a DocuWare query (`query_source.py`), its workbook
        name that query's text."""
        return "query" in self.config


@dataclass(frozen=True)
class RowView:
    row_number: int
    key: str
    status: RowStatus
    values: dict[str, Any]
    attempts: int
    error: str
    documents: int
    duplicate_of: int | None


@dataclass(frozen=True)
class FileView:
    row_number: int | None
    document_id: str
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    level: str
    message: str


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + "Z"
    return value


_SUMMARY_FIELDS = [f.name for f in fields(JobSummary)]
_DETAIL_FIELDS = [f.name for f in fields(JobDetail)]


def _summary(job: Job) -> JobSummary:
    return JobSummary(**{name: getattr(job, name) for name in _SUMMARY_FIELDS})


def resolve_job_id(id_or_prefix: str) -> str:
    """The full id for an id or an unambiguous prefix of at least four characters."""
    text = id_or_prefix.strip().lower()
    if Job.select().where(Job.id == text).exists():
        return text
    if len(text) >= MIN_PREFIX:
        matches = [j.id for j in Job.select(Job.id).where(Job.id.startswith(text)).limit(2)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise JobNotFoundError(f"Job id {id_or_prefix!r} is ambiguous; give more characters.")
    elif Job.select().where(Job.id.startswith(text)).exists():
        # Short prefixes are refused even when one job fits: the next job could make them hit two.
        raise JobNotFoundError(
            f"Job id {id_or_prefix!r} is too short; give at least {MIN_PREFIX} characters"
            " of the job id."
        )
    raise JobNotFoundError(f"No job with id {id_or_prefix!r}.")


def get_job(id_or_prefix: str) -> JobDetail:
    job = Job.get_by_id(resolve_job_id(id_or_prefix))
    return JobDetail(**{name: getattr(job, name) for name in _DETAIL_FIELDS})


SORTABLE: dict[str, peewee.Field] = {
    "created": Job.created_at,
    "name": Job.name,
    "status": Job.status,
    "user": Job.user,
    "rows": Job.total_rows,
    "progress": Job.done_rows,
    "started": Job.started_at,
}


def job_filter(
    statuses: list[JobStatus] | None = None,
    text: str | None = None,
    since: datetime | None = None,
) -> peewee.Expression | bool:
    """The WHERE clause for a status set, a free-text filter over name, user and workbook,
    and a creation time (naive UTC) from which on."""
    clauses: list[peewee.Expression] = []
    if statuses:
        clauses.append(Job.status.in_(statuses))
    if text:
        like = f"%{text}%"
        clauses.append(Job.name**like | Job.user**like | Job.workbook_name**like | Job.id**like)
    if since is not None:
        clauses.append(Job.created_at >= since)
    return functools.reduce(operator.and_, clauses) if clauses else True


def list_jobs(
    statuses: list[JobStatus] | None = None,
    text: str | None = None,
    sort: str = "created",
    descending: bool = True,
    limit: int | None = None,
    offset: int = 0,
    *,
    since: datetime | None = None,
) -> list[JobSummary]:
    """Jobs in order, one page if `limit` is given. Fast on large stores: the order is decided
    over ids only, then just that page's rows are read (the dashboard asks once a second)."""
    column = SORTABLE.get(sort, Job.created_at)
    order = (column.desc() if descending else column.asc(), Job.id)
    query = (
        Job.select(Job.id).where(job_filter(statuses, text, since)).order_by(*order).offset(offset)
    )
    page = (query.limit(limit) if limit is not None else query).tuples()
    ids = [row[0] for row in cast("Iterable[tuple[str]]", page)]
    by_id = {job.id: job for job in Job.select().where(Job.id.in_(ids))}
    return [_summary(by_id[i]) for i in ids if i in by_id]


def count_jobs(statuses: list[JobStatus] | None = None, text: str | None = None) -> int:
    return Job.select().where(job_filter(statuses, text)).count()


def status_counts() -> dict[JobStatus, int]:
    """Jobs per status, answered from the status index alone (COUNT(*), no table reads)."""
    query = Job.select(Job.status, peewee.fn.COUNT(peewee.SQL("*")).alias("n")).group_by(Job.status)
    counts = {status: 0 for status in JobStatus}
    for status, n in cast("Iterable[tuple[JobStatus, int]]", query.tuples()):
        counts[status] = n
    return counts


def job_rows(
    job_id: str, status: RowStatus | None = None, limit: int = 100, offset: int = 0
) -> list[RowView]:
    query = JobRow.select().where(JobRow.job == job_id)
    if status:
        query = query.where(JobRow.status == status)
    query = query.order_by(JobRow.row_number).limit(limit).offset(offset)
    return [
        RowView(
            r.row_number,
            r.key,
            r.status,
            r.values or {},
            r.attempts,
            r.error,
            r.documents,
            r.duplicate_of,
        )
        for r in query
    ]


def row_total(job_id: str, status: RowStatus | None = None) -> int:
    """How many rows `job_rows` can give (with that status)."""
    query = JobRow.select().where(JobRow.job == job_id)
    return (query.where(JobRow.status == status) if status else query).count()


def file_total(job_id: str) -> int:
    """How many entries `job_files` can give."""
    return JobFile.select().where(JobFile.job == job_id).count()


def row_counts(job_id: str) -> dict[RowStatus, int]:
    query = (
        JobRow.select(JobRow.status, peewee.fn.COUNT(JobRow.id).alias("n"))
        .where(JobRow.job == job_id)
        .group_by(JobRow.status)
        .tuples()
    )
    return dict(cast("Iterable[tuple[RowStatus, int]]", query))


def job_files(job_id: str, limit: int = 100, offset: int = 0) -> list[FileView]:
    """A page of a job's files, each with the workbook row it came from (as tuples: through an
    outer join Peewee drops a joined model whose id was not selected, and the row with it)."""
    query = (
        JobFile.select(
            JobRow.row_number, JobFile.document_id, JobFile.path, JobFile.size, JobFile.sha256
        )
        .join(JobRow, peewee.JOIN.LEFT_OUTER)
        .where(JobFile.job == job_id)
        .order_by(JobFile.id)
        .limit(limit)
        .offset(offset)
        .tuples()
    )
    return [FileView(*values) for values in cast("Iterable[tuple[Any, ...]]", query)]


def job_events(job_id: str, after_id: int = 0, limit: int = 200) -> list[EventView]:
    query = (
        JobEvent.select()
        .where((JobEvent.job == job_id) & (JobEvent.id > after_id))
        .order_by(JobEvent.id)
        .limit(limit)
    )
    return [EventView(e.id, e.at, e.level, e.message) for e in query]


def latest_finished_at() -> datetime | None:
    """When the most recently finished job finished (the watermark for `finished_since`)."""
    latest = Job.select(Job.finished_at).order_by(Job.finished_at.desc(nulls="LAST")).first()
    return latest.finished_at if latest else None


def finished_since(after: datetime | None, limit: int = 50) -> list[JobSummary]:
    """Jobs that finished after `after`, oldest first — how the TUI notices jobs ending."""
    query = Job.select().where(Job.finished_at.is_null(False))
    if after is not None:
        query = query.where(Job.finished_at > after)
    return [_summary(job) for job in query.order_by(Job.finished_at).limit(limit)]


def row_files(job_id: str, row_number: int) -> list[FileView]:
    """The files one workbook row produced."""
    query = (
        JobFile.select(JobFile, JobRow.row_number)
        .join(JobRow)
        .where((JobFile.job == job_id) & (JobRow.row_number == row_number))
        .order_by(JobFile.id)
    )
    return [FileView(row_number, f.document_id, f.path, f.size, f.sha256) for f in query]


def jobs_by_source(source: str, limit: int = 50) -> list[JobSummary]:
    """The newest jobs that came from one source (tui, cli, dropfolder, api)."""
    query = Job.select().where(Job.source == source).order_by(Job.created_at.desc()).limit(limit)
    return [_summary(job) for job in query]


def active_jobs() -> list[JobSummary]:
    """Jobs a worker holds or will continue: validating, running or paused, oldest start first."""
    held_or_paused = Job.status.in_(ACTIVE | {JobStatus.PAUSED})
    query = Job.select().where(held_or_paused).order_by(Job.started_at, Job.created_at)
    return [_summary(job) for job in query]
