"""The real `exmado` in a real terminal (tmux, 100×30): what a person would read on screen."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exmado_tui.store.db import open_database
from tests.environment import REPO, make_settings, settings_env
from tests.tui.seed import seed_jobs
from tests.tui.terminal import Terminal

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
EXMADO = Path(sys.executable).parent / "exmado"


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(f"exmado-test-{os.getpid()}-{tmp_path.name}")
    yield term
    term.kill()


def test_the_dashboard_in_tmux(tmp_path: Path, redis_url: str, terminal: Terminal) -> None:
    env = {
        **settings_env(tmp_path),
        "EXMADO_CONFIG": str(tmp_path / "none.toml"),
        "REDIS_URL": redis_url,
        "DOCUWARE_URL": "http://127.0.0.1:9",
        "TERM": "xterm-256color",
    }
    (tmp_path / "none.toml").write_text("")
    settings = make_settings(tmp_path, REDIS_URL=redis_url)
    db = open_database(settings.database_url)
    seed_jobs()
    db.close()
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    terminal.start(f"cd {shlex.quote(str(REPO))} && env {assignments} {EXMADO}")

    shown = terminal.wait_for("Invoices March")
    for words in ("Redis ✔", "Suppliers Q1", "▶ running", "1–7 of 7", "2 Active 3"):
        assert words in terminal.wait_for(words), words

    terminal.keys("4")  # running jobs only
    terminal.wait_for("1–1 of 1")
    shown = terminal.wait_for("Invoices March")  # the count can be drawn before the rows
    assert "Suppliers Q1" not in shown

    terminal.keys("Enter")  # open it
    shown = terminal.wait_for("480/1200 rows")
    assert "Job 01c0ffee  Invoices March" in shown

    terminal.keys("Escape")
    terminal.wait_for("2 Active 3")
    terminal.keys("1")
    terminal.wait_for("1–7 of 7")
    terminal.keys("?")
    terminal.wait_for("Jobs list")
    terminal.keys("Escape")  # a key right after Escape would read as Alt+key
    terminal.wait_for("1–7 of 7")
    terminal.keys("q")
    deadline = time.monotonic() + 10
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not terminal.alive(), "q did not quit the dashboard"
