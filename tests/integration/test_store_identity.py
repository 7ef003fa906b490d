"""The store's identity: a store deleted or swapped under a data folder is refused, never
silently replaced; only the first run and `exmado store init` make one (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from exmado_tui.config.settings import Settings
from exmado_tui.errors import StoreIdentityError
from exmado_tui.store import identity as store_identity
from exmado_tui.store.db import database
from exmado_tui.store.identity import (
    ID_FILE,
    check_still,
    init_store,
    open_store,
    opened_store,
    recorded_id,
)
from exmado_tui.store.models import Job
from tests.environment import make_settings
from tests.factories import insert_job as make_job


def sqlite_path(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def close() -> None:
    if database.obj is not None:
        database.close()


def test_the_first_run_creates_the_store_and_records_its_id(settings: Settings) -> None:
    open_store(settings)
    close()
    recorded = recorded_id(settings.data_dir)
    assert recorded and open_store(settings) is not None
    assert store_identity.store_id(database.obj) == recorded
    close()


def test_a_deleted_sqlite_store_is_refused_and_no_empty_one_is_made(settings: Settings) -> None:
    open_store(settings)
    close()
    recorded = str(recorded_id(settings.data_dir))
    path = sqlite_path(settings)
    path.unlink()
    with pytest.raises(StoreIdentityError) as refused:
        open_store(settings)
    assert str(refused.value) == (
        f"The job store {path} is gone (the data folder {settings.data_dir} recorded store "
        f"{recorded[:8]}): restore it from a backup, or run `exmado store init` to start an "
        "empty one."
    )
    assert not path.exists()


def test_a_swapped_store_is_refused_until_store_init_adopts_it(
    settings: Settings, tmp_path: Path
) -> None:
    open_store(settings)
    make_job("kept")
    close()
    other = make_settings(tmp_path / "other")
    open_store(other)
    close()
    shutil.copy(sqlite_path(other), sqlite_path(settings))
    with pytest.raises(StoreIdentityError, match="run `exmado store init` to use this one"):
        open_store(settings)
    adopted, created = init_store(settings)
    close()
    assert not created and adopted == recorded_id(other.data_dir) == recorded_id(settings.data_dir)
    open_store(settings)
    assert Job.select().count() == 0  # the other store's jobs: none
    close()


def test_store_init_starts_an_empty_store_after_one_was_lost(settings: Settings) -> None:
    open_store(settings)
    make_job("lost")
    close()
    before = recorded_id(settings.data_dir)
    sqlite_path(settings).unlink()
    new, created = init_store(settings)
    assert created and new != before and recorded_id(settings.data_dir) == new
    assert Job.select().count() == 0
    close()


def test_a_store_older_than_the_identity_is_adopted(settings: Settings) -> None:
    from exmado_tui.store.db import open_database

    open_database(settings.database_url)  # as a version before this one left it
    make_job("old")
    close()
    open_store(settings)
    assert Job.select().count() == 1
    assert recorded_id(settings.data_dir) == store_identity.store_id(database.obj)
    close()


def test_a_run_notices_its_store_deleted_or_replaced(settings: Settings) -> None:
    open_store(settings)
    opened = opened_store()
    check_still(opened)  # nothing changed
    path = sqlite_path(settings)
    path.rename(path.with_suffix(".away"))
    with pytest.raises(StoreIdentityError, match="was deleted or replaced while in use"):
        check_still(opened)
    shutil.copy(path.with_suffix(".away"), path)  # the same content, another file
    with pytest.raises(StoreIdentityError):
        check_still(opened)
    close()


def test_the_store_and_the_data_folder_become_owner_only(settings: Settings) -> None:
    settings.data_dir.mkdir(mode=0o755, parents=True)
    settings.data_dir.chmod(0o755)
    (settings.data_dir / "workbooks").mkdir(mode=0o755)
    path = sqlite_path(settings)
    open_store(settings)
    close()
    path.chmod(0o644)
    open_store(settings)
    close()
    for private in (settings.data_dir, settings.data_dir / "workbooks"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
    for private in (path, settings.data_dir / ID_FILE):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600


# -- PostgreSQL: the store keeps the id, each host's data folder the one it recorded -------


def test_postgresql_a_store_emptied_or_swapped_is_refused(tmp_path: Path, pg_url: str) -> None:
    from tests.postgres import empty_database

    host = make_settings(tmp_path, EXMADO_DB_URL=pg_url)
    open_store(host)
    make_job("on pg")
    close()
    other_host = make_settings(tmp_path / "b", EXMADO_DB_URL=pg_url)
    open_store(other_host)  # a second host records the same store
    assert recorded_id(other_host.data_dir) == recorded_id(host.data_dir)
    close()
    empty_database(pg_url)  # dropped and made again: a fresh, empty database
    with pytest.raises(StoreIdentityError, match="holds no tables"):
        open_store(host)
    close()
    new, created = init_store(host)
    assert created and new != recorded_id(other_host.data_dir)
    close()
    with pytest.raises(StoreIdentityError, match="run `exmado store init` to use this one"):
        open_store(other_host)
    close()


def test_postgresql_a_run_notices_its_store_replaced(tmp_path: Path, pg_url: str) -> None:
    host = make_settings(tmp_path, EXMADO_DB_URL=pg_url)
    open_store(host)
    opened = opened_store()
    check_still(opened)
    database.execute_sql('UPDATE "store_identity" SET "id" = \'another\'')
    with pytest.raises(StoreIdentityError, match="was deleted or replaced while in use"):
        check_still(opened)
    close()


def test_doctor_says_the_store_is_gone_or_another(settings: Settings, tmp_path: Path) -> None:
    from exmado_tui.commands import doctor

    open_store(settings)
    close()
    assert doctor.store(settings)[0].ok
    path = sqlite_path(settings)
    path.rename(tmp_path / "away.db")
    gone = doctor.store(settings)[0]
    assert not gone.ok
    assert "is gone (the data folder recorded store" in gone.detail and "store init" in gone.fix
    assert not path.exists()
    other = make_settings(tmp_path / "other")
    open_store(other)
    close()
    shutil.copy(sqlite_path(other), path)
    swapped = doctor.store(settings)[0]
    assert not swapped.ok and "not the store" in swapped.detail
