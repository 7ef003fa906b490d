"""The Workers screen's `k`: a sign-in to DocuWare (the sandbox over HTTP) that always ends, with
the answer or a sentence and its fix, whether DocuWare, the password or Redis is wrong."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from exmado_tui.store.db import open_database
from exmado_tui.ui.app import make_app
from exmado_tui.ui.backend import DocuWareProbe
from exmado_tui.ui.screens.workers import WorkersScreen
from tests.environment import NO_REDIS, make_settings
from tests.tui.pilot_steps import SIZE, open_screen, wait_for

ANSWER_WAIT_S = 20  # a sign-in over real HTTP on a busy machine


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that takes the connection and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


async def sign_in_line(tmp_path: Path, bound_s: float = 20, **env: str) -> str:
    """What the DocuWare section says once `k` was pressed and the check ended."""
    settings = make_settings(tmp_path, **env)
    db = open_database(settings.database_url)
    probe = DocuWareProbe(settings.docuware, sign_in_bound_s=bound_s)
    try:
        async with make_app(settings, probe=probe).run_test(size=SIZE) as pilot:
            screen = await open_screen(pilot, "w", WorkersScreen)
            await pilot.press("k")
            line = screen.query_one("#docuware-check")
            await wait_for(
                pilot, lambda: "✔" in str(line.render()) or "✖" in str(line.render()), ANSWER_WAIT_S
            )
            return str(line.render())
    finally:
        db.close()


async def test_k_signs_in_and_says_as_whom(sandbox, tmp_path, redis_url):
    line = await sign_in_line(
        tmp_path, REDIS_URL=redis_url, DOCUWARE_URL=sandbox.url, DOCUWARE_PASSWORD="demo"
    )
    assert line.startswith(f"✔ {sandbox.url}") and "signed in as 'demo'" in line


async def test_k_with_redis_down_still_answers(sandbox, tmp_path):
    line = await sign_in_line(
        tmp_path, REDIS_URL=NO_REDIS, DOCUWARE_URL=sandbox.url, DOCUWARE_PASSWORD="demo"
    )
    assert "signed in as 'demo'" in line


async def test_k_names_a_wrong_password_and_its_fix(sandbox, tmp_path, redis_url):
    line = await sign_in_line(
        tmp_path, REDIS_URL=redis_url, DOCUWARE_URL=sandbox.url, DOCUWARE_PASSWORD="wrong"
    )
    assert line.startswith("✖") and "fix: check DOCUWARE_PASSWORD and the user name" in line
    assert "restart" not in line  # the workers' advice: this check was run by hand


async def test_k_gives_up_on_a_server_that_never_answers(silent_url, tmp_path, redis_url):
    line = await sign_in_line(
        tmp_path, bound_s=1, REDIS_URL=redis_url, DOCUWARE_URL=silent_url, DOCUWARE_PASSWORD="demo"
    )
    assert line.startswith(f"✖ {silent_url} gave no answer within 1 s")
    assert "fix: check DOCUWARE_URL" in line
