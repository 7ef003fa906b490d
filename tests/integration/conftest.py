"""Integration fixtures: a shared sandbox DocuWare server, a factory for private ones, a
site for `exmado up | down` (tests/integration/site.py), and a drop folder on a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from exmado_tui.config.settings import Settings
from exmado_tui.dropfolder.watch import DropFolder
from exmado_tui.sandbox import SandboxConfig, SandboxServer
from tests.clocks import ManualClock
from tests.drop_folder import prepared_folder
from tests.integration.site import make_site
from tests.sandbox_login import sandbox_token, signed_in_client


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One sandbox for the whole session (2,000 invoices, seed 42, port 0, auth "both").

    `sandbox.url` is the base URL, `sandbox.catalogue` the data it serves. Do not change its
    faults or data: use `sandbox_factory` for that.
    """
    server = SandboxServer(SandboxConfig(port=0, documents=2000))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder for one stack, run from another folder than the checkout (see site.py)."""
    return make_site(tmp_path)


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    """make(**SandboxConfig fields) -> a started private sandbox, stopped after the test."""
    started: list[SandboxServer] = []

    def make(**config: Any) -> SandboxServer:
        config.setdefault("port", 0)
        config.setdefault("documents", 500)
        server = SandboxServer(SandboxConfig(**config))
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def sandbox_login() -> Callable[..., str]:
    """login(base_url, username="demo", password="demo") -> an OAuth access token."""
    return sandbox_token


@pytest.fixture
def sandbox_client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """An httpx.Client on the shared sandbox, logged on as demo with a bearer token."""
    with signed_in_client(sandbox.url) as client:
        yield client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def folder(store: Settings, clock: ManualClock, redis_url: str) -> DropFolder:
    """The store's drop folder, prepared, on `clock` (a job it makes is queued in Redis)."""
    return prepared_folder(store, clock)
