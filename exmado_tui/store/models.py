"""Peewee models of the job store: jobs, their rows, files and events."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import peewee

from exmado_tui.job.status import Control, JobStatus, RowStatus
from exmado_tui.notify.targets import DeliveryState, NoticeKind
from exmado_tui.store.db import database, utcnow

E = TypeVar("E", bound=StrEnum)
V = TypeVar("V")  # what the field holds: E, or E | None when it may be empty


class JSONField(peewee.TextField):
    """JSON text in any database."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, default=str)

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


if TYPE_CHECKING:
    _CharField = peewee.CharField
else:

    class _CharField(peewee.CharField, Generic[V]):
        """peewee's CharField, generic at run time as its stubs make it for the type checker."""


class EnumField(_CharField[V]):
    """An enum's value as text in any database; reading gives the member back, None stays None.

    Writing refuses a value that is not the enum's, so a misspelt status never reaches the
    store; comparisons and `in_` with plain strings work as before (a StrEnum is its value).
    """

    @overload
    def __init__(
        self: EnumField[E], enum: type[E], *, default: E | None = None, index: bool = False
    ) -> None: ...
    @overload
    def __init__(self: EnumField[E | None], enum: type[E], *, null: Literal[True]) -> None: ...
    def __init__(self, enum: type[StrEnum], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.enum = enum

    def db_value(self, value: StrEnum | str | None) -> str | None:
        return None if value is None else self.enum(value).value

    def python_value(self, value: str | None) -> StrEnum | None:
        return None if value is None else self.enum(value)


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


class SchemaVersion(BaseModel):
    """One row: the schema version of this store."""

    version = peewee.IntegerField()


class Job(BaseModel):
    """A workbook to export, with the configuration it runs with and its counters."""

    id = peewee.CharField(primary_key=True, max_length=32)
    name = peewee.CharField()
    user = peewee.CharField(default="")
    source = peewee.CharField(default="cli")  # tui | cli | dropfolder | api
    created_by = peewee.CharField(default="")  # an Actor: user, SSH address, host, door
    started_by = peewee.CharField(default="")  # who queued it last (start, retry)
    status = EnumField(JobStatus, index=True)
    profile = peewee.CharField(default="")
    config = JSONField()  # snapshot of the profile and job options it runs with
    workbook_name = peewee.CharField()  # the file name the user gave
    workbook_path = peewee.CharField()  # the private copy in data_dir
    workbook_sha256 = peewee.CharField(max_length=64)
    output_dir = peewee.CharField()
    docuware_url = peewee.CharField(default="")  # the server its last run searched
    # A query job's normalised query (query_source.fingerprint); "" for a workbook job.
    query_fingerprint = peewee.CharField(max_length=64, default="", index=True)
    total_rows = peewee.IntegerField(default=0)
    done_rows = peewee.IntegerField(default=0)
    found_rows = peewee.IntegerField(default=0)
    not_found_rows = peewee.IntegerField(default=0)
    ambiguous_rows = peewee.IntegerField(default=0)
    failed_rows = peewee.IntegerField(default=0)
    skipped_rows = peewee.IntegerField(default=0)
    files_count = peewee.IntegerField(default=0)
    bytes_downloaded = peewee.BigIntegerField(default=0)
    control = EnumField(Control, null=True)  # asked by a user of the worker holding the job
    wait_reason = peewee.CharField(default="")
    last_error = peewee.TextField(default="")
    worker = peewee.CharField(default="")  # host:pid that holds the job
    runs = peewee.IntegerField(default=0)  # how often a worker took the job up
    created_at = peewee.DateTimeField(default=utcnow, index=True)
    queued_at = peewee.DateTimeField(null=True)
    started_at = peewee.DateTimeField(null=True)
    finished_at = peewee.DateTimeField(null=True)
    heartbeat_at = peewee.DateTimeField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)


class JobRow(BaseModel):
    """One workbook row: its values, what became of it and why."""

    id = peewee.AutoField()  # what peewee adds by itself, said so for the type checker
    job = peewee.ForeignKeyField(Job, backref="rows", on_delete="CASCADE")
    row_number = peewee.IntegerField()  # the row number in the sheet, as a user sees it
    key = peewee.CharField(default="")  # the search value(s), for display
    values = JSONField()
    status = EnumField(RowStatus, default=RowStatus.PENDING)
    attempts = peewee.IntegerField(default=0)  # runs that tried the row
    # Refused when the workbook was read (an empty key, an Excel error cell): the job's copy
    # of the workbook does not change, so a retry leaves the row failed.
    failed_at_import = peewee.BooleanField(default=False)
    error = peewee.TextField(default="")
    documents = peewee.IntegerField(default=0)
    duplicate_of = peewee.IntegerField(null=True)  # first row with the same key
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("job", "row_number"), True),
            (("job", "status"), False),
        )


class JobFile(BaseModel):
    """A file a row produced: which DocuWare document, where it went, its checksum."""

    id = peewee.AutoField()  # what peewee adds by itself, said so for the type checker
    job = peewee.ForeignKeyField(Job, backref="files", on_delete="CASCADE")
    row = peewee.ForeignKeyField(JobRow, backref="files", null=True, on_delete="CASCADE")
    cabinet_id = peewee.CharField(default="")
    document_id = peewee.CharField()
    path = peewee.CharField()  # relative to the job's output_dir
    size = peewee.BigIntegerField(default=0)
    sha256 = peewee.CharField(max_length=64, default="")
    modified_at = peewee.DateTimeField(null=True)  # the document's DWMODDATETIME, naive UTC
    # Its index fields, content type and sections (docuware/values.py); null: before them
    index_data = peewee.TextField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("job", "row", "document_id", "path"), True),
            (("job", "document_id"), False),
            (("job", "path", "id"), False),  # the manifest, in path order
        )


class JobEvent(BaseModel):
    """A line of a job's event log."""

    id = peewee.AutoField()  # what peewee adds by itself, said so for the type checker
    job = peewee.ForeignKeyField(Job, backref="events", on_delete="CASCADE")
    at = peewee.DateTimeField(default=utcnow)
    level = peewee.CharField(default="info")  # info | warning | error
    message = peewee.TextField()

    class Meta:
        indexes = ((("job", "id"), False),)


class JobWorkbook(BaseModel):
    """The bytes of a job's workbook, so that a worker on any host can read it."""

    job = peewee.ForeignKeyField(Job, primary_key=True, on_delete="CASCADE")
    content = peewee.BlobField()


class StoreIdentity(BaseModel):
    """One row: this store's id, which the data folders using it record (`store/identity.py`)."""

    id = peewee.CharField(primary_key=True, max_length=36)
    created_at = peewee.DateTimeField()


class NotifyEvent(BaseModel):
    """A notice in the outbox (`notify/outbox.py`), written with the change it tells of; its
    `message_id` is the `webhook-id` every delivery of it carries, so receivers de-duplicate."""

    id = peewee.AutoField()
    message_id = peewee.CharField(unique=True)
    kind = EnumField(NoticeKind)
    job_id = peewee.CharField(max_length=32, null=True)  # no key: a deleted job's notice stays
    body = JSONField()
    created_at = peewee.DateTimeField(default=utcnow)
    fanned_out = peewee.BooleanField(default=False, index=True)  # its deliveries are written


class NotifyDelivery(BaseModel):
    """One notice to one target: tried until delivered, or given up after a day."""

    id = peewee.AutoField()
    event = peewee.ForeignKeyField(NotifyEvent, backref="deliveries", on_delete="CASCADE")
    target = peewee.CharField()  # the [[notify]] entry's name
    state = EnumField(DeliveryState, default=DeliveryState.PENDING)
    attempts = peewee.IntegerField(default=0)
    next_at = peewee.DateTimeField(default=utcnow)
    lease_until = peewee.DateTimeField(null=True)  # a deliverer is sending it until then
    delivered_at = peewee.DateTimeField(null=True)
    last_error = peewee.TextField(default="")

    class Meta:
        indexes = (
            (("event", "target"), True),
            (("state", "next_at"), False),
        )


class ScheduleRun(BaseModel):
    """A [[schedule]] entry's last run: claimed by one watcher with a conditional write, so a
    run is made once however many watchers share the store."""

    name = peewee.CharField(primary_key=True)  # the entry's name
    last_run_at = peewee.DateTimeField()  # when its last run was claimed, naive UTC
    claimed_by = peewee.CharField(default="")  # the watcher's host:pid
    job_id = peewee.CharField(max_length=32, default="")  # the job it made ("": none)
    outcome = peewee.TextField(default="")  # what became of it, one sentence


ALL_MODELS: tuple[type[BaseModel], ...] = (
    SchemaVersion,
    StoreIdentity,
    Job,
    JobRow,
    JobFile,
    JobEvent,
    JobWorkbook,
    NotifyEvent,
    NotifyDelivery,
    ScheduleRun,
)


def delete_rows(model: type[peewee.Model], where: Any = None) -> int:
    """DELETE FROM the model's table (WHERE `where`): how many rows went. Not `Model.delete()`:
    two builds of types-peewee disagree on its type, so a `type: ignore` one needs is unused
    under the other."""
    query = peewee.ModelDelete(model)
    return int((query if where is None else query.where(where)).execute())
