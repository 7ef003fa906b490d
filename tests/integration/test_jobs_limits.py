"""`jobs create` holds a workbook to the host's [workbooks] limits, not only to the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.config.loading import load_settings
from exmado_tui.errors import WorkbookError
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from tests.reliability.hostile import CASES


def test_create_refuses_past_the_host_files_limit_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    wide = next(c for c in CASES if c.name == "1,000 columns").build(tmp_path, ["A-1", "A-2"])
    host = tmp_path / "host.toml"
    host.write_text("[workbooks]\nmax_columns = 20\n")
    monkeypatch.setenv("EXMADO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REDIS_URL", redis_url)
    settings = load_settings(host)
    from exmado_tui.store.db import open_database

    open_database(settings.database_url)
    with pytest.raises(WorkbookError) as caught:
        JobService(settings).create(JobRequest(wide, profile="invoices"))
    assert "beyond the 20 columns" in str(caught.value)
    assert "[workbooks] max_columns" in str(caught.value)
