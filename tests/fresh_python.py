"""Code run in a fresh interpreter from the checkout: what a test can learn only there
(which packages an import loads, what happens at import time)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.environment import REPO


def run_code(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` with this interpreter in the checkout; `env` adds to the environment."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
