"""Fixtures the unit tests of the CLI and the job service share: an environment, a service, a
workbook."""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.config.settings import Settings
from exmado_tui.job.service import JobService
from tests.environment import REPO, redis_if_asked
from tests.workbooks import write_workbook


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
