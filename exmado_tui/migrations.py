"""Schema versions: each migration brings a store one version up, without losing data."""

from __future__ import annotations

from collections.abc import Callable

import peewee

from exmado_tui.models import ALL_MODELS, SchemaVersion


def _create_tables(db: peewee.Database) -> None:
    db.create_tables(ALL_MODELS)


# Append new steps; never edit a step that has shipped.
MIGRATIONS: list[Callable[[peewee.Database], None]] = [_create_tables]
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
