"""Moving the job store to another database (`exmado store migrate --to URL`).

Typically an existing SQLite store moves to PostgreSQL when a second host joins. A job moves
whole, in one transaction with its rows, files, events and workbook, keeping its ids; so an
interrupted copy leaves only whole jobs behind, and running it again copies the rest. A target
that holds anything else is refused unless the caller asks to empty it first. The target takes
the source's store id (`store/identity.py`): the data folders that used the source accept it.
The notification outbox moves after the jobs, what the target lacks of it in one transaction,
so a notice waiting for delivery is neither lost nor sent twice by the move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import peewee

from exmado_tui.errors import PermanentError
from exmado_tui.job.status import ACTIVE
from exmado_tui.store import migrations
from exmado_tui.store.identity import share_identity
from exmado_tui.store.models import (
    ALL_MODELS,
    Job,
    JobEvent,
    JobFile,
    JobRow,
    JobWorkbook,
    NotifyDelivery,
    NotifyEvent,
    ScheduleRun,
    delete_rows,
)

# What belongs to a job, copied after the job row itself, in this order (files name rows).
PerJob = type[JobWorkbook] | type[JobRow] | type[JobFile] | type[JobEvent]
PER_JOB: tuple[PerJob, ...] = (JobWorkbook, JobRow, JobFile, JobEvent)
Row = dict[str, Any]  # one stored row, column name to value
OUTBOX: tuple[type[NotifyEvent] | type[NotifyDelivery], ...] = (NotifyEvent, NotifyDelivery)
COUNTED: tuple[type[peewee.Model], ...] = (Job, *PER_JOB, *OUTBOX)
CHUNK = 1000


class StoreCopyError(PermanentError):
    """The copy cannot start or did not come out equal; the sentence says why."""


@dataclass(frozen=True)
class CopyResult:
    copied: int  # jobs copied by this run
    already_there: int  # jobs an earlier, interrupted run had copied
    counts: dict[str, int]  # rows per table, equal in both stores
    version: int  # the schema version of both


Progress = Callable[[int, int], None]


def copy_store(
    source: peewee.Database,
    target: peewee.Database,
    *,
    replace: bool = False,
    progress: Progress = lambda done, total: None,
) -> CopyResult:
    """Copy every job of `source` into `target`; verify both hold the same counts."""
    version = _bring_up_to_date(source, target)
    with bound(source):
        _refuse_active_jobs()
        wanted = [job.id for job in Job.select(Job.id).order_by(Job.created_at, Job.id)]
    there = _jobs_in_target(target, set(wanted), replace)
    missing = [job_id for job_id in wanted if job_id not in there]
    for done, job_id in enumerate(missing, 1):
        _copy_job(source, target, job_id)
        progress(done, len(missing))
    _copy_outbox(source, target)
    _copy_schedule_runs(source, target)
    _advance_sequences(target)
    share_identity(source, target)
    counts = _equal_counts(source, target)
    return CopyResult(len(missing), len(there), counts, version)


@contextmanager
def bound(db: peewee.Database) -> Iterator[None]:
    """The store's models talk to `db` inside the block."""
    with db.bind_ctx(ALL_MODELS, bind_refs=False, bind_backrefs=False):
        yield


def _bring_up_to_date(source: peewee.Database, target: peewee.Database) -> int:
    for db in (source, target):
        with bound(db):
            migrations.migrate(db)
    return migrations.LATEST


def _refuse_active_jobs() -> None:
    running = Job.select().where(Job.status.in_(ACTIVE)).count()
    if running:
        raise StoreCopyError(
            f"{running} job(s) are running in the store being moved: stop the workers first "
            "(`exmado down` on every host), then move the store."
        )


def _jobs_in_target(target: peewee.Database, wanted: set[str], replace: bool) -> set[str]:
    """The jobs an interrupted earlier copy left in `target`; refuse a target that holds
    anything else, or empty it when `replace`."""
    with bound(target):
        if replace:
            with target.atomic():
                for model in reversed(COUNTED):
                    delete_rows(model)
            return set()
        there = {job.id for job in Job.select(Job.id)}
        foreign = len(there - wanted)
        if foreign:
            raise StoreCopyError(
                f"The target store already holds {foreign} job(s) that are not in this store: "
                "choose an empty database, or add --replace to empty it first."
            )
        return there


def _copy_job(source: peewee.Database, target: peewee.Database, job_id: str) -> None:
    with bound(source):
        job = list(Job.select().where(Job.id == job_id).dicts())
    with bound(target), target.atomic():
        Job.insert_many(job).execute()
        for model in PER_JOB:
            for chunk in _chunks(source, model, job_id):
                model.insert_many(chunk).execute()


def _chunks(source: peewee.Database, model: PerJob, job_id: str) -> Iterator[list[Row]]:
    """The job's rows of `model` from `source`, a chunk at a time, in key order."""
    key = cast(peewee.Field, model._meta.primary_key)  # every table here has one
    after = None
    while True:
        with bound(source):
            query = model.select().where(model.job == job_id)
            if after is not None:
                query = query.where(key > after)
            chunk = cast("list[Row]", list(query.order_by(key).limit(CHUNK).dicts()))
        if not chunk:
            return
        yield chunk
        if len(chunk) < CHUNK:
            return
        after = chunk[-1][key.name]


def _copy_outbox(source: peewee.Database, target: peewee.Database) -> None:
    """The notices and their deliveries the target lacks (by id), in one transaction."""
    missing: dict[type[NotifyEvent] | type[NotifyDelivery], list[Row]] = {}
    for model in OUTBOX:
        with bound(target):
            there = {row.id for row in model.select(model.id)}
        with bound(source):
            rows = cast("list[Row]", list(model.select().order_by(model.id).dicts()))
        missing[model] = [row for row in rows if row["id"] not in there]
    with bound(target), target.atomic():
        for model, rows in missing.items():
            for start in range(0, len(rows), CHUNK):
                model.insert_many(rows[start : start + CHUNK]).execute()


def _copy_schedule_runs(source: peewee.Database, target: peewee.Database) -> None:
    """Each [[schedule]] entry's last run the target lacks: a moved store would otherwise make
    again, at once, a run already made."""
    with bound(target):
        there = {run.name for run in ScheduleRun.select(ScheduleRun.name)}
    with bound(source):
        kept = cast("list[Row]", list(ScheduleRun.select().dicts()))
    rows = [row for row in kept if row["name"] not in there]
    with bound(target), target.atomic():
        if rows:
            ScheduleRun.insert_many(rows).execute()


def _advance_sequences(target: peewee.Database) -> None:
    """PostgreSQL hands out serial ids from a sequence that copied rows did not move on."""
    if not isinstance(target, peewee.PostgresqlDatabase):
        return
    for model in (JobRow, JobFile, JobEvent, *OUTBOX):
        table = model._meta.table_name
        target.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'COALESCE((SELECT MAX("id") FROM "{table}"), 0) + 1, false)'
        )


def _equal_counts(source: peewee.Database, target: peewee.Database) -> dict[str, int]:
    counts = {}
    for model in COUNTED:
        name = model._meta.table_name
        with bound(source):
            have = model.select().count()
        with bound(target):
            got = model.select().count()
        if have != got:
            raise StoreCopyError(
                f"After the copy the target holds {got} {name} rows where the store being "
                f"moved holds {have}: run the same command again to finish it."
            )
        counts[name] = have
    return counts
