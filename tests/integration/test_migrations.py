"""Schema versions: a fresh store is created at the latest version; upgrades keep data."""

from __future__ import annotations

from pathlib import Path

import peewee
import pytest
from playhouse.migrate import SqliteMigrator
from playhouse.migrate import migrate as run_migration

from exmado_tui.job.service import JobService
from exmado_tui.store import migrations
from exmado_tui.store.db import open_database
from exmado_tui.store.models import ALL_MODELS, Job, JobRow
from tests.environment import make_settings
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


def _a_version_2_store(url: str, monkeypatch: pytest.MonkeyPatch) -> peewee.Database:
    with monkeypatch.context() as before_step_3:
        before_step_3.setattr(migrations, "LATEST", 2)
        db = open_database(url)
    assert migrations.current_version(db) == 2
    return db


def _an_old_job(db: peewee.Database, job_id: str) -> str:
    """A COMPLETED_WITH_ERRORS job as version 2 stored it: none of the columns added since."""
    text = ("name", "user", "source", "profile", "workbook_name", "workbook_path", "output_dir")
    numbers = ("total_rows", "done_rows", "found_rows", "not_found_rows", "ambiguous_rows")
    numbers += ("failed_rows", "skipped_rows", "files_count", "bytes_downloaded", "runs")
    values: dict[str, object] = {"id": job_id, "status": "COMPLETED_WITH_ERRORS", "config": "{}"}
    values |= {name: "x" for name in text} | {name: 0 for name in numbers}
    values |= {"workbook_sha256": "0" * 64, "wait_reason": "", "last_error": "", "worker": ""}
    values |= {"created_at": "2026-01-01", "updated_at": "2026-01-01"}
    columns = ", ".join(f'"{name}"' for name in values)
    places = ", ".join([db.param] * len(values))
    db.execute_sql(f'INSERT INTO "job" ({columns}) VALUES ({places})', tuple(values.values()))
    return job_id


def _an_old_row(db: peewee.Database, job_id: str, number: int, status: str, attempts: int) -> None:
    """A row as version 2 stored it: no `failed_at_import`, which the model now has."""
    columns = '"job_id", "row_number", "key", "values", "status", "attempts", "error", '
    columns += '"documents", "updated_at"'
    values = (
        job_id,
        number,
        f"K{number}",
        "{}",
        status,
        attempts,
        f"row {number}",
        0,
        "2026-01-01",
    )
    places = ", ".join([db.param] * len(values))
    db.execute_sql(f'INSERT INTO "job_row" ({columns}) VALUES ({places})', values)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 's.db'}"


def test_step_3_marks_the_rows_that_failed_when_the_workbook_was_read(
    store_url: str, tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
):
    """Until version 3 a row failed at import was told by a failed status with no attempt;
    after the upgrade such a row is marked, and a retry still leaves it failed."""
    db = _a_version_2_store(store_url, monkeypatch)
    job_id = _an_old_job(db, "d" * 32)
    for number, status, attempts in [(2, "failed", 0), (3, "failed", 1), (4, "done", 1)]:
        _an_old_row(db, job_id, number, status, attempts)
    db.close()
    db = open_database(store_url)
    assert migrations.current_version(db) == migrations.LATEST
    marked = {r.row_number: r.failed_at_import for r in JobRow.select()}
    assert marked == {2: True, 3: False, 4: False}
    settings = make_settings(tmp_path, EXMADO_DB_URL=store_url, REDIS_URL=redis_url)
    JobService(settings).retry(job_id)
    rows = {r.row_number: (r.status, r.error) for r in JobRow.select()}
    assert rows == {2: ("failed", "row 2"), 3: ("pending", ""), 4: ("done", "row 4")}
    db.close()
