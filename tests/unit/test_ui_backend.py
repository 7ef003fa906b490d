"""`Backend`: the one place where the store's own errors become `StoreUnavailableError`."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import peewee
import pytest

from exmado_tui.errors import ExmadoError, StoreUnavailableError, TransitionError
from exmado_tui.ui.backend import Backend

URL = "postgresql://exmado:s3cret@db.example:5432/exmado"
MASKED = "postgresql://exmado:***@db.example:5432/exmado"


@pytest.fixture
def backend():
    service = SimpleNamespace(settings=SimpleNamespace(database_url=URL))
    backend = Backend(service)  # type: ignore[arg-type]
    yield backend
    backend.close()


def raising(exc: Exception):
    def fn(*args, **kwargs):
        raise exc

    return fn


async def test_a_read_the_store_refuses_is_one_sentence_naming_the_store(backend):
    refused = peewee.OperationalError(
        "could not connect to server: Connection refused\n"
        '\tIs the server running on host "db.example" and accepting TCP/IP connections?'
    )
    with pytest.raises(StoreUnavailableError) as caught:
        await backend.read(raising(refused), "job-id", limit=10)
    err = caught.value
    assert str(err) == (
        f"The job store {MASKED} cannot be reached just now: "
        "could not connect to server: Connection refused."
    )
    assert "s3cret" not in str(err) and "\n" not in str(err)
    assert err.reason == "could not connect to server: Connection refused"
    assert err.store == MASKED
    assert err.retryable and isinstance(err, ExmadoError)
    assert err.__cause__ is refused  # the traceback in the log still shows the original


@pytest.mark.parametrize(
    "exc",
    [
        peewee.OperationalError("database is locked"),
        peewee.InterfaceError("connection already closed"),
        peewee.DatabaseError("server closed the connection unexpectedly"),
        peewee.OperationalError(),  # no message at all
    ],
)
async def test_every_store_error_of_a_read_is_store_unavailable(backend, exc):
    with pytest.raises(StoreUnavailableError) as caught:
        await backend.read(raising(exc))
    assert caught.value.reason == (str(exc) or type(exc).__name__)


async def test_a_read_that_succeeds_or_fails_otherwise_is_untouched(backend):
    assert await backend.read(lambda a, b=0: a + b, 2, b=3) == 5
    with pytest.raises(TransitionError):
        await backend.read(raising(TransitionError("Job x is COMPLETED.")))


async def test_an_action_with_the_store_out_of_reach_is_store_unavailable(backend):
    with pytest.raises(StoreUnavailableError, match="database is locked") as caught:
        await backend.act(raising(peewee.OperationalError("database is locked")))
    assert MASKED in str(caught.value)


async def test_an_action_refused_for_its_own_reasons_is_untouched(backend):
    """What the user sees for an ordinary refusal does not change."""
    for exc in (TransitionError("Job x cannot be paused."), peewee.IntegrityError("UNIQUE")):
        with pytest.raises(type(exc)) as caught:
            await backend.act(raising(exc))
        assert caught.value is exc


async def test_a_sqlite_store_is_named_by_its_path(tmp_path):
    url = f"sqlite:///{tmp_path / 'exmado.db'}"
    backend = Backend(SimpleNamespace(settings=SimpleNamespace(database_url=url)))  # type: ignore[arg-type]
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            await backend.read(raising(peewee.OperationalError("database is locked")))
    finally:
        backend.close()
    assert (
        str(caught.value) == f"The job store {url} cannot be reached just now: database is locked."
    )


async def test_an_action_meeting_a_lasting_store_fault_is_untouched(backend):
    """A missed migration is not "out of reach, trying again": the action says what it is."""
    exc = peewee.OperationalError("no such table: job")
    with pytest.raises(peewee.OperationalError) as caught:
        await backend.act(raising(exc))
    assert caught.value is exc


async def test_a_read_meeting_a_lasting_store_fault_is_still_shown_on_screen(backend):
    with pytest.raises(StoreUnavailableError, match="no such table: job"):
        await backend.read(raising(peewee.OperationalError("no such table: job")))


@pytest.mark.parametrize("call", ["read", "act", "probe"])
async def test_a_call_after_close_is_cancelled_not_an_error(backend, call: str):
    """The app closes the backend as it quits; a refresh still running then is cancelled (its
    worker ends quietly) rather than failing on the closed threads."""
    backend.close()
    with pytest.raises(asyncio.CancelledError):
        await getattr(backend, call)(lambda: "read")
