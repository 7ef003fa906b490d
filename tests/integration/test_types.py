"""The type check is part of the test command: mypy, as configured in pyproject.toml, passes."""

from __future__ import annotations

import subprocess
import sys

from tests.environment import REPO


def test_the_code_type_checks() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
