"""Schema versions: a fresh store is created at the latest version; upgrades keep data."""

from __future__ import annotations

from pathlib import Path

import peewee
from playhouse.migrate import SqliteMigrator
from playhouse.migrate import migrate as run_migration

from exmado_tui import migrations
from exmado_tui.db import open_database
from exmado_tui.models import ALL_MODELS, Job
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


def _columns(db: peewee.Database, table: str) -> dict[str, tuple[str, bool]]:
    return {c.name: (c.data_type.upper(), c.null) for c in db.get_columns(table)}


def _indexes(db: peewee.Database, table: str) -> dict[str, tuple[tuple[str, ...], bool]]:
    return {i.name: (tuple(i.columns), i.unique) for i in db.get_indexes(table)}


def _schema_of(db: peewee.Database) -> dict[str, object]:
    return {t: (_columns(db, t), _indexes(db, t)) for t in sorted(db.get_tables())}


def test_the_migrated_schema_is_what_the_models_declare(tmp_path: Path):
    """The steps are SQL that never follows the models, so a model change without its step
    shows here: the store the steps build equals the one the models would create."""
    migrated = open_database(f"sqlite:///{tmp_path / 'migrated.db'}")
    steps = _schema_of(migrated)
    migrated.close()
    declared = peewee.SqliteDatabase(str(tmp_path / "declared.db"))
    with declared.bind_ctx(ALL_MODELS):
        declared.create_tables(ALL_MODELS)
    assert steps == _schema_of(declared)


def test_step_one_does_not_follow_the_models(tmp_path: Path):
    """Step 1 builds the store as it shipped, without the table step 2 adds."""
    db = peewee.SqliteDatabase(str(tmp_path / "s.db"))
    migrations.MIGRATIONS[0](db)
    assert "job_workbook" not in db.get_tables()
    assert {"job", "job_row", "job_file", "job_event", "schema_version"} <= set(db.get_tables())


def test_the_steps_build_the_store_on_postgresql(pg_url: str):
    db = open_database(pg_url)
    assert migrations.current_version(db) == migrations.LATEST
    columns = _columns(db, "job")
    assert columns["bytes_downloaded"] == ("BIGINT", False)
    assert columns["created_at"][0].startswith("TIMESTAMP")
    insert_job("c" * 32)
    assert Job.get_by_id("c" * 32).status == "PENDING"
    db.close()
