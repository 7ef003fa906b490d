"""Where a test runs: the checkout, the variables that give it folders of its own, the settings
they make, and the Redis it finds (the private one when it asked for `redis_url`, else none).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import Settings

REPO = Path(__file__).resolve().parent.parent

# Where a test that did not ask for Redis finds none: nothing listens on port 1.
NO_REDIS = "redis://127.0.0.1:1/0"


def settings_env(tmp_path: Path) -> dict[str, str]:
    """The variables that give a test its own data dir, output root, drop folder and user
    profiles under `tmp_path`, with the checkout's profiles."""
    return {
        "EXMADO_DATA_DIR": str(tmp_path / "data"),
        "EXMADO_OUTPUT_ROOT": str(tmp_path / "out"),
        "EXMADO_DROP_FOLDER": str(tmp_path / "drop"),
        "EXMADO_PROFILES_DIR": str(REPO / "config" / "profiles"),
        "EXMADO_USER_PROFILES_DIR": str(tmp_path / "user-profiles"),
    }


def make_settings(tmp_path: Path, **env: str) -> Settings:
    """Settings for a test: its own data dir, output root and SQLite store; `env` on top."""
    return load_settings(environ={**settings_env(tmp_path), **env})


def redis_if_asked(request: pytest.FixtureRequest) -> str:
    """The private Redis when the test asks for `redis_url`, else an address with none: only
    the tests that need Redis start it."""
    if "redis_url" in request.fixturenames:
        return str(request.getfixturevalue("redis_url"))
    return NO_REDIS
