"""Schema versions: a fresh store is created at the latest version; upgrades keep data."""

from __future__ import annotations

from pathlib import Path

import peewee
from playhouse.migrate import SqliteMigrator
from playhouse.migrate import migrate as run_migration

from exmado_tui import migrations
from exmado_tui.db import open_database
from exmado_tui.models import Job
from tests.factories import insert_job


def test_fresh_store_is_at_the_latest_version(tmp_path: Path):
    db = open_database(f"sqlite:///{tmp_path / 's.db'}")
    assert migrations.current_version(db) == migrations.LATEST
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 10_000


def _add_priority(db: peewee.Database) -> None:
    run_migration(SqliteMigrator(db).add_column("job", "priority", peewee.IntegerField(default=0)))


def test_an_existing_store_upgrades_without_losing_data(tmp_path: Path, monkeypatch):
    url = f"sqlite:///{tmp_path / 's.db'}"
    db = open_database(url)
    insert_job("b" * 32, name="kept", config={"cabinet": "Invoices"})
    db.close()
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, _add_priority])
    monkeypatch.setattr(migrations, "LATEST", len(migrations.MIGRATIONS))
    db = open_database(url)
    assert migrations.current_version(db) == migrations.LATEST
    row = db.execute_sql("SELECT name, priority FROM job").fetchone()
    assert row == ("kept", 0)
    assert Job.get_by_id("b" * 32).config == {"cabinet": "Invoices"}


def test_migrating_twice_changes_nothing(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    db = open_database(url)
    assert migrations.migrate(db) == migrations.LATEST
    assert migrations.current_version(db) == migrations.LATEST
