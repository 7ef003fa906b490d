"""Fixtures for the dashboard tests: a seeded store, a frozen clock, a fixed DocuWare answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from exmado_tui.settings import Settings
from exmado_tui.ui.app import ExmadoApp, make_app
from exmado_tui.ui.health import DocuWareHealth
from tests.tui.seed import FROZEN_NOW, seed_jobs


class FixedProbe:
    """DocuWare health without the network: the health strip is a boundary for these tests."""

    def __init__(self, reachable: bool = False) -> None:
        self.health = DocuWareHealth(reachable, "7.10" if reachable else "", "sandbox off")

    def check(self, force: bool = False) -> DocuWareHealth:
        return self.health


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


async def wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Let the app run until `condition()` holds; fail the test after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.05)


def screen_text(app: ExmadoApp) -> str:
    """What the terminal shows now, as plain text, one line a row."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def notices(app: ExmadoApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def output_dir_of(path: str) -> Path:
    return Path(path)
