"""The code passes ruff's lint rules and its formatter, as pyproject.toml configures them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.environment import REPO

CODE = ["exmado_tui", "workers", "tests"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_is_satisfied(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, *CODE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
