"""`store_error`: which store faults pass (and are tried again), which stay (and are said)."""

from __future__ import annotations

import sys

import peewee
import pytest

from exmado_tui.errors import SettingsError, StoreUnavailableError
from exmado_tui.store.db import make_database, store_error

URL = "postgresql://exmado:s3cret@db.example:5432/exmado"
MASKED = "postgresql://exmado:***@db.example:5432/exmado"


def test_a_locked_store_is_unavailable_for_now_with_the_password_masked() -> None:
    exc = peewee.OperationalError("database is locked")
    err = store_error(exc, URL)
    assert isinstance(err, StoreUnavailableError) and err.retryable
    assert str(err) == f"The job store {MASKED} cannot be reached just now: database is locked."
    assert (err.reason, err.store) == ("database is locked", MASKED)
    assert "s3cret" not in str(err)


@pytest.mark.parametrize(
    "exc",
    [
        peewee.OperationalError("database is locked"),
        peewee.OperationalError("database table is locked: job"),
        peewee.OperationalError(
            "could not connect to server: Connection refused\n\tIs the server running?"
        ),
        peewee.OperationalError("server closed the connection unexpectedly"),
        peewee.OperationalError("terminating connection due to administrator command"),
        peewee.OperationalError("FATAL:  the database system is starting up"),
        peewee.DatabaseError("server closed the connection unexpectedly"),
        peewee.InterfaceError("connection already closed"),
    ],
)
def test_passing_faults_are_unavailable_for_now(exc: Exception) -> None:
    err = store_error(exc, URL)
    assert err is not None
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    "exc",
    [
        peewee.OperationalError("no such table: job"),
        peewee.OperationalError("no such column: job.signer"),
        peewee.OperationalError("unable to open database file"),
        peewee.OperationalError(),
        peewee.DatabaseError("database disk image is malformed"),
        peewee.IntegrityError("UNIQUE constraint failed: job.id"),
        peewee.ProgrammingError('relation "job" does not exist'),
    ],
)
def test_lasting_faults_are_not_passing(exc: Exception) -> None:
    assert store_error(exc, URL) is None


def test_an_absolute_sqlite_url_opens_its_path_with_one_leading_slash(tmp_path) -> None:
    db = make_database(f"sqlite:///{tmp_path / 'data' / 'exmado.db'}")
    assert db.database == str(tmp_path / "data" / "exmado.db")


def test_a_postgresql_url_without_its_driver_says_which_extra_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # as if the extra were not installed
    with pytest.raises(SettingsError) as caught:
        make_database(URL)
    assert "pip install 'exmado[postgres]'" in str(caught.value)
    assert "s3cret" not in str(caught.value)
