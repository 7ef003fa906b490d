"""Schema versions: each migration brings a store one version up, without losing data."""

from __future__ import annotations

from collections.abc import Callable

import peewee

from exmado_tui.models import ALL_MODELS, Job, SchemaVersion


def _create_tables(db: peewee.Database) -> None:
    db.create_tables(ALL_MODELS)


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


# Append new steps; never edit a step that has shipped.
MIGRATIONS: list[Callable[[peewee.Database], None]] = [
    _create_tables,
    _keep_workbooks_in_the_store,
]
LATEST = len(MIGRATIONS)


def current_version(db: peewee.Database) -> int:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().first()
    return row.version if row else 0


def migrate(db: peewee.Database) -> int:
    """Apply the missing steps in one transaction each; return the version reached."""
    version = current_version(db)
    for number in range(version + 1, LATEST + 1):
        with db.atomic():
            # Another process may have applied this step while we waited for the lock.
            if current_version(db) >= number:
                continue
            MIGRATIONS[number - 1](db)
            SchemaVersion.delete().execute()
            SchemaVersion.create(version=number)
    return max(version, LATEST)
