"""Fixtures for the dashboard tests: a seeded store, a frozen clock, a fixed DocuWare answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from exmado_tui.config.settings import Settings
from exmado_tui.sandbox import SandboxConfig, SandboxServer
from exmado_tui.ui.app import ExmadoApp, make_app
from tests.tui.pilot_steps import FixedProbe
from tests.tui.seed import FROZEN_NOW, seed_jobs


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """The DocuWare sandbox over real HTTP, for the tests that ask DocuWare from the dashboard."""
    server = SandboxServer(SandboxConfig(port=0, documents=50))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def seeded(store: Settings) -> list[str]:
    """Seven jobs, one per state; their ids in seed order."""
    return seed_jobs()


@pytest.fixture
def app_factory(store: Settings, redis_url: str) -> Callable[..., ExmadoApp]:
    """The dashboard on the test store; its actions queue jobs in the private Redis."""

    def build(**options: object) -> ExmadoApp:
        options.setdefault("clock", lambda: FROZEN_NOW)
        options.setdefault("probe", FixedProbe())
        return make_app(store, **options)  # type: ignore[arg-type]

    return build
