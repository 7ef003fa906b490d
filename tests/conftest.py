"""Fixtures shared by every test: a clean environment, settings, the store, a private Redis and
PostgreSQL; for the tests of the CLI and the job service, an `exmado` environment, a service and
a workbook."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import redis

from exmado_tui.config.settings import Settings
from exmado_tui.job.service import JobService
from exmado_tui.services.localredis import RedisServer
from exmado_tui.store.db import open_database
from tests.environment import REPO, make_settings, redis_if_asked
from tests.postgres import (
    HOW_TO_GET_THEM,
    PostgresServer,
    empty_database,
    postgres_bin,
    throwaway_database,
)
from tests.reliability.tally import TALLY, Tally
from tests.workbooks import write_workbook

OWN_PREFIXES = ("EXMADO_", "DOCUWARE_", "REDIS_")
TALLY_KEY = "reliability_tally"
OWN_NAMES = {"MAX_CONCURRENT_JOBS", "JOB_TIMEOUT"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Shut out the developer's own configuration and variables."""
    for name in list(os.environ):
        if name.startswith(OWN_PREFIXES) or name in OWN_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setattr(
        "exmado_tui.config.loading.USER_CONFIG_FILE", tmp_path / "no-user-config.toml"
    )
    monkeypatch.setenv("EXMADO_USER_PROFILES_DIR", str(tmp_path / "user-profiles"))
    # Times show in the machine's zone by default: one zone for every machine the tests run on.
    monkeypatch.setenv("TZ", "America/Tegucigalpa")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The private Redis, emptied before each test."""
    redis.Redis.from_url(redis_server.url).flushall()
    yield redis_server.url


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server for the session: EXMADO_TEST_PG_URL, else a private one of ours."""
    named = os.environ.get("EXMADO_TEST_PG_URL")
    if named:
        yield named
        return
    with private_postgres() as server:
        yield server.admin_url


@pytest.fixture(scope="session")
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """One database for the session's tests, emptied before each (`pg_url`)."""
    with throwaway_database(postgres_admin_url) as url:
        yield url


@pytest.fixture
def pg_url(postgres_database: str) -> str:
    """The session's PostgreSQL database with no table in it: creating a database per test
    costs a second on a busy machine, dropping its tables a few milliseconds."""
    empty_database(postgres_database)
    return postgres_database


@pytest.fixture
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL of this test's own, for tests that stop or restart the server."""
    with private_postgres() as server:
        yield server


@contextmanager
def private_postgres() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip(f"no PostgreSQL server binaries: {HOW_TO_GET_THEM}")
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.remove()


# The reliability suite's one line (tests/reliability/tally.py). These hooks live here, not in
# tests/reliability/conftest.py: under pytest-xdist the controller collects nothing, so only the
# top conftest is loaded there; each worker hands its tally over as it goes down.
@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    tally = getattr(node, "workeroutput", {}).get(TALLY_KEY)
    if tally is not None:
        TALLY.merge(Tally(**tally))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker
        workeroutput[TALLY_KEY] = asdict(TALLY)
        return
    if TALLY.used and TALLY.failures() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.used:
        return
    for failure in TALLY.failures():
        terminalreporter.write_line(f"reliability FAILED: {failure}", red=True)
    terminalreporter.write_line(TALLY.line(), bold=True)


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(tmp_path, REDIS_URL=redis_if_asked(request))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Iterator[Settings]:
    """Like `store`, once on SQLite and once on the session's PostgreSQL."""
    on_postgres = request.param == "postgresql"
    env = {"EXMADO_DB_URL": request.getfixturevalue("pg_url")} if on_postgres else {}
    settings = make_settings(tmp_path, REDIS_URL=redis_url, **env)
    db = open_database(settings.database_url)
    yield settings
    db.close()


@pytest.fixture
def store(settings: Settings) -> Iterator[Settings]:
    """The settings, with the models bound to a fresh SQLite store."""
    db = open_database(settings.database_url)
    yield settings
    db.close()


@pytest.fixture
def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> dict[str, str]:
    """A private data dir, output root and Redis for `exmado` run in this process."""
    values = {
        "EXMADO_DATA_DIR": str(tmp_path / "data"),
        "EXMADO_OUTPUT_ROOT": str(tmp_path / "out"),
        "EXMADO_PROFILES_DIR": str(REPO / "config" / "profiles"),
        "REDIS_URL": redis_if_asked(request),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def service(store: Settings) -> JobService:
    return JobService(store)


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """Two invoices to look up, INV-1 and INV-2."""
    return write_workbook(tmp_path / "march.xlsx", [["INV-1"], ["INV-2"]])
