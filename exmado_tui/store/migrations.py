"""Schema versions: each migration brings a store one version up, without losing data."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import peewee

from exmado_tui.store.db import utcnow
from exmado_tui.store.models import Job, SchemaVersion, delete_rows

# Step 1 as it shipped, in SQL, so that it never follows the models. {serial}, {bigint} and
# {timestamp} are the few types that differ between SQLite and PostgreSQL.
STORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS "schema_version" (
  "id" {serial} NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS "job" (
  "id" VARCHAR(32) NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL,
  "user" VARCHAR(255) NOT NULL, "source" VARCHAR(255) NOT NULL,
  "status" VARCHAR(255) NOT NULL, "profile" VARCHAR(255) NOT NULL, "config" TEXT NOT NULL,
  "workbook_name" VARCHAR(255) NOT NULL, "workbook_path" VARCHAR(255) NOT NULL,
  "workbook_sha256" VARCHAR(64) NOT NULL, "output_dir" VARCHAR(255) NOT NULL,
  "total_rows" INTEGER NOT NULL, "done_rows" INTEGER NOT NULL, "found_rows" INTEGER NOT NULL,
  "not_found_rows" INTEGER NOT NULL, "ambiguous_rows" INTEGER NOT NULL,
  "failed_rows" INTEGER NOT NULL, "skipped_rows" INTEGER NOT NULL,
  "files_count" INTEGER NOT NULL, "bytes_downloaded" {bigint} NOT NULL,
  "control" VARCHAR(255), "wait_reason" VARCHAR(255) NOT NULL, "last_error" TEXT NOT NULL,
  "worker" VARCHAR(255) NOT NULL, "runs" INTEGER NOT NULL,
  "created_at" {timestamp} NOT NULL, "queued_at" {timestamp}, "started_at" {timestamp},
  "finished_at" {timestamp}, "heartbeat_at" {timestamp}, "updated_at" {timestamp} NOT NULL);
CREATE INDEX IF NOT EXISTS "job_status" ON "job" ("status");
CREATE INDEX IF NOT EXISTS "job_created_at" ON "job" ("created_at");
CREATE TABLE IF NOT EXISTS "job_row" (
  "id" {serial} NOT NULL PRIMARY KEY, "job_id" VARCHAR(32) NOT NULL,
  "row_number" INTEGER NOT NULL, "key" VARCHAR(255) NOT NULL, "values" TEXT NOT NULL,
  "status" VARCHAR(255) NOT NULL, "attempts" INTEGER NOT NULL, "error" TEXT NOT NULL,
  "documents" INTEGER NOT NULL, "duplicate_of" INTEGER, "updated_at" {timestamp} NOT NULL,
  FOREIGN KEY ("job_id") REFERENCES "job" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "job_row_job_id" ON "job_row" ("job_id");
CREATE UNIQUE INDEX IF NOT EXISTS "job_row_job_id_row_number" ON "job_row" ("job_id", "row_number");
CREATE INDEX IF NOT EXISTS "job_row_job_id_status" ON "job_row" ("job_id", "status");
CREATE TABLE IF NOT EXISTS "job_file" (
  "id" {serial} NOT NULL PRIMARY KEY, "job_id" VARCHAR(32) NOT NULL, "row_id" INTEGER,
  "cabinet_id" VARCHAR(255) NOT NULL, "document_id" VARCHAR(255) NOT NULL,
  "path" VARCHAR(255) NOT NULL, "size" {bigint} NOT NULL, "sha256" VARCHAR(64) NOT NULL,
  "created_at" {timestamp} NOT NULL,
  FOREIGN KEY ("job_id") REFERENCES "job" ("id") ON DELETE CASCADE,
  FOREIGN KEY ("row_id") REFERENCES "job_row" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "job_file_job_id" ON "job_file" ("job_id");
CREATE INDEX IF NOT EXISTS "job_file_row_id" ON "job_file" ("row_id");
CREATE UNIQUE INDEX IF NOT EXISTS "job_file_job_id_row_id_document_id_path"
  ON "job_file" ("job_id", "row_id", "document_id", "path");
CREATE INDEX IF NOT EXISTS "job_file_job_id_document_id" ON "job_file" ("job_id", "document_id");
CREATE TABLE IF NOT EXISTS "job_event" (
  "id" {serial} NOT NULL PRIMARY KEY, "job_id" VARCHAR(32) NOT NULL,
  "at" {timestamp} NOT NULL, "level" VARCHAR(255) NOT NULL, "message" TEXT NOT NULL,
  FOREIGN KEY ("job_id") REFERENCES "job" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "job_event_job_id" ON "job_event" ("job_id");
CREATE INDEX IF NOT EXISTS "job_event_job_id_id" ON "job_event" ("job_id", "id");
"""
SQLITE_TYPES = {
    "serial": "INTEGER",
    "bigint": "INTEGER",
    "timestamp": "DATETIME",
    "boolean": "INTEGER",
    "true": "1",
    "false": "0",
}
POSTGRES_TYPES = {
    "serial": "SERIAL",
    "bigint": "BIGINT",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "true": "TRUE",
    "false": "FALSE",
}


MIGRATION_LOCK = 0x45786D61  # PostgreSQL advisory lock key of the schema steps ("Exma")


def _execute(db: peewee.Database, script: str) -> None:
    """Run `script`'s statements with this database's spelling of the types that differ."""
    types = POSTGRES_TYPES if isinstance(db, peewee.PostgresqlDatabase) else SQLITE_TYPES
    for statement in script.format(**types).split(";"):
        if statement.strip():
            db.execute_sql(statement)


def _create_the_store(db: peewee.Database) -> None:
    """Step 1: the job store's tables and indexes."""
    _execute(db, STORE_SCHEMA)


def _keep_workbooks_in_the_store(db: peewee.Database) -> None:
    """Step 2: a table for the workbooks' bytes, so that a worker on another host can read
    them. Its model is frozen here as it shipped, whatever `models.JobWorkbook` becomes."""

    class JobWorkbook(peewee.Model):
        job = peewee.ForeignKeyField(Job, primary_key=True, on_delete="CASCADE")
        content = peewee.BlobField()

        class Meta:
            database = db
            table_name = "job_workbook"

    db.create_tables([JobWorkbook])


MARK_ROWS_FAILED_AT_IMPORT = """
ALTER TABLE "job_row" ADD COLUMN "failed_at_import" {boolean} NOT NULL DEFAULT {false};
UPDATE "job_row" SET "failed_at_import" = {true} WHERE "status" = 'failed' AND "attempts" = 0;
"""


def _mark_rows_failed_at_import(db: peewee.Database) -> None:
    """Step 3: a column for rows refused when the workbook was read. Before it such a row was
    told by a failed status with no attempt, so that rule marks the rows already stored."""
    _execute(db, MARK_ROWS_FAILED_AT_IMPORT)


INDEX_FILES_BY_PATH = """
CREATE INDEX IF NOT EXISTS "job_file_job_id_path_id" ON "job_file" ("job_id", "path", "id");
"""


def _index_files_by_path(db: peewee.Database) -> None:
    """Step 4: a job's files in path order, read a chunk at a time for its manifest."""
    _execute(db, INDEX_FILES_BY_PATH)


STORE_IDENTITY = """
CREATE TABLE "store_identity" (
  "id" VARCHAR(36) NOT NULL PRIMARY KEY, "created_at" {timestamp} NOT NULL);
"""


def _give_the_store_an_identity(db: peewee.Database) -> None:
    """Step 5: the store's own id (`store/identity.py`), so that a data folder notices a store
    deleted or swapped under it instead of silently working on another."""
    _execute(db, STORE_IDENTITY)
    insert = 'INSERT INTO "store_identity" ("id", "created_at") VALUES ({0}, {0})'
    db.execute_sql(insert.format(db.param), (uuid.uuid4().hex, utcnow()))


NAME_WHO_CREATED_AND_STARTED = """
ALTER TABLE "job" ADD COLUMN "created_by" VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE "job" ADD COLUMN "started_by" VARCHAR(255) NOT NULL DEFAULT '';
"""


def _name_who_created_and_started(db: peewee.Database) -> None:
    """Step 6: who created a job and who started it, for its manifest (issue 20's audit)."""
    _execute(db, NAME_WHO_CREATED_AND_STARTED)


NOTIFY_OUTBOX = """
CREATE TABLE "notify_event" (
  "id" {serial} NOT NULL PRIMARY KEY, "message_id" VARCHAR(255) NOT NULL,
  "kind" VARCHAR(255) NOT NULL, "job_id" VARCHAR(32), "body" TEXT NOT NULL,
  "created_at" {timestamp} NOT NULL, "fanned_out" {boolean} NOT NULL);
CREATE UNIQUE INDEX "notify_event_message_id" ON "notify_event" ("message_id");
CREATE INDEX "notify_event_fanned_out" ON "notify_event" ("fanned_out");
CREATE TABLE "notify_delivery" (
  "id" {serial} NOT NULL PRIMARY KEY, "event_id" INTEGER NOT NULL,
  "target" VARCHAR(255) NOT NULL, "state" VARCHAR(255) NOT NULL, "attempts" INTEGER NOT NULL,
  "next_at" {timestamp} NOT NULL, "lease_until" {timestamp}, "delivered_at" {timestamp},
  "last_error" TEXT NOT NULL,
  FOREIGN KEY ("event_id") REFERENCES "notify_event" ("id") ON DELETE CASCADE);
CREATE INDEX "notify_delivery_event_id" ON "notify_delivery" ("event_id");
CREATE UNIQUE INDEX "notify_delivery_event_id_target" ON "notify_delivery" ("event_id", "target");
CREATE INDEX "notify_delivery_state_next_at" ON "notify_delivery" ("state", "next_at");
"""


def _keep_a_notify_outbox(db: peewee.Database) -> None:
    """Step 7: the notifications' outbox (issue 20): notices written with the change they
    tell of, and their delivery to each [[notify]] target."""
    _execute(db, NOTIFY_OUTBOX)


RECORD_SERVER_AND_MODIFIED = """
ALTER TABLE "job" ADD COLUMN "docuware_url" VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE "job_file" ADD COLUMN "modified_at" {timestamp};
"""


def _record_server_and_modified(db: peewee.Database) -> None:
    """Step 8: the DocuWare server a job ran against and each document's modified date as it
    was exported, for the manifest and `exmado jobs verify --remote` (issue 22.4)."""
    _execute(db, RECORD_SERVER_AND_MODIFIED)


KEEP_INDEX_DATA = """
ALTER TABLE "job_file" ADD COLUMN "index_data" TEXT;
"""


def _keep_index_data(db: peewee.Database) -> None:
    """Step 9: each file's document's index fields, content type and sections as DocuWare
    sent them (`docuware/values.py`), for the report's Documents sheet and the metadata
    files, written later or on another host (issue 22.2). Null for files kept before."""
    _execute(db, KEEP_INDEX_DATA)


REMEMBER_QUERIES_AND_SCHEDULES = """
ALTER TABLE "job" ADD COLUMN "query_fingerprint" VARCHAR(64) NOT NULL DEFAULT '';
CREATE INDEX "job_query_fingerprint" ON "job" ("query_fingerprint");
CREATE TABLE "schedule_run" (
  "name" VARCHAR(255) NOT NULL PRIMARY KEY, "last_run_at" {timestamp} NOT NULL,
  "claimed_by" VARCHAR(255) NOT NULL, "job_id" VARCHAR(32) NOT NULL, "outcome" TEXT NOT NULL);
"""


def _remember_queries_and_schedules(db: peewee.Database) -> None:
    """Step 10: a query job's normalised query (`--since-last-run` finds the previous run of
    the same query by it) and each [[schedule]] entry's last run, claimed by one watcher
    (issue 22.3)."""
    _execute(db, REMEMBER_QUERIES_AND_SCHEDULES)


# Append new steps; never edit a step that has shipped.
MIGRATIONS: list[Callable[[peewee.Database], None]] = [
    _create_the_store,
    _keep_workbooks_in_the_store,
    _mark_rows_failed_at_import,
    _index_files_by_path,
    _give_the_store_an_identity,
    _name_who_created_and_started,
    _keep_a_notify_outbox,
    _record_server_and_modified,
    _keep_index_data,
    _remember_queries_and_schedules,
]
LATEST = len(MIGRATIONS)


def current_version(db: peewee.Database) -> int:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().first()
    return row.version if row else 0


def _one_process_at_a_time(db: peewee.Database) -> None:
    """On PostgreSQL, a lock held to the end of the step's transaction: two processes opening
    a new store at once (a host's worker and watcher) both ran step 1, and CREATE TABLE IF NOT
    EXISTS races there ("duplicate key value violates unique constraint
    pg_type_typname_nsp_index"). SQLite's write lock does the same already."""
    if isinstance(db, peewee.PostgresqlDatabase):
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))


def migrate(db: peewee.Database) -> int:
    """Apply the missing steps in one transaction each; return the version reached."""
    version = current_version(db)
    for number in range(version + 1, LATEST + 1):
        with db.atomic():
            _one_process_at_a_time(db)
            # Another process may have applied this step while we waited for the lock.
            if current_version(db) >= number:
                continue
            MIGRATIONS[number - 1](db)
            delete_rows(SchemaVersion)
            SchemaVersion.create(version=number)
    return max(version, LATEST)
