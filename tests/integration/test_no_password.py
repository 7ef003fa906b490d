"""No DocuWare password configured: the CLI, `docuware check` and a job say so, and where to
put one, instead of passing on DocuWare's invalid_username_or_password."""

from __future__ import annotations

from pathlib import Path

from exmado_tui.cli import main
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from exmado_tui.sandbox import SandboxServer
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job
from tests.environment import make_settings
from tests.workbooks import write_workbook
from workers.pipeline import run_job
from workers.runtime import Runtime

SENTENCE = "No DocuWare password is configured for 'demo': set DOCUWARE_PASSWORD, or "


def test_docuware_check_says_no_password_is_configured(sandbox: SandboxServer, monkeypatch, capsys):
    monkeypatch.setenv("DOCUWARE_URL", sandbox.url)
    assert main(["docuware", "check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"exmado: {SENTENCE}")
    assert "password_file" in err and "invalid_username_or_password" not in err


def test_a_job_fails_saying_no_password_is_configured(
    sandbox: SandboxServer, redis_url: str, tmp_path: Path
):
    settings = make_settings(tmp_path, REDIS_URL=redis_url, DOCUWARE_URL=sandbox.url)
    open_database(settings.database_url)
    book = write_workbook(tmp_path / "march.xlsx", [["100001"]])
    job_id = JobService(settings).create(JobRequest(book, profile="invoices")).id
    runtime = Runtime.from_settings(settings)
    assert runtime.slots.acquire(job_id, "m1").taken
    try:
        run_job(job_id, runtime, token="m1")
    finally:
        runtime.slots.release(job_id, "m1")
    job = Job.get_by_id(job_id)
    assert job.status == "FAILED"
    assert job.last_error.startswith(SENTENCE)
