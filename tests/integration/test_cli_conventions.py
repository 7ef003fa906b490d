"""What people expect from a CLI: --version, global options after the command, a job's
events, rows and files, and `jobs list` filtered by text and age."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import pytest

from exmado_tui.cli import build_parser, main
from exmado_tui.config.loading import load_settings
from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import record_event, transition
from exmado_tui.store.db import utcnow
from exmado_tui.store.models import Job, JobFile, JobRow
from tests.cli_runner import run, run_json
from tests.workbooks import write_workbook


@pytest.fixture
def job_id(env, tmp_path, capsys) -> str:
    book = write_workbook(tmp_path / "march.xlsx", [["INV-1"], ["INV-2"], ["INV-3"]])
    argv = ("jobs", "create", str(book), "--profile", "invoices", "--user", "ana")
    return run_json(capsys, *argv, "--name", "March")["id"]


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag, capsys):
    with pytest.raises(SystemExit) as done:
        main([flag])
    assert done.value.code == 0
    assert capsys.readouterr().out == "exmado 0.1.0\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "host.toml", "--readonly", "-v", "jobs", "list"],
        ["--readonly", "jobs", "list", "--config", "host.toml", "-v"],
        ["--readonly", "jobs", "--config", "host.toml", "list", "--verbose"],
        ["--config", "host.toml", "serve", "--readonly", "-v"],
        ["demo", "--dashboard", "--config", "host.toml", "--readonly", "-v"],
    ],
)
def test_global_options_before_or_after_the_command(argv):
    args = build_parser().parse_args(argv)
    assert (args.config, args.readonly, args.verbose) == ("host.toml", True, True)


def test_help_says_exmado_alone_opens_the_dashboard_and_readonly_is_for_it(capsys):
    for argv in (["--help"], ["jobs", "list", "--help"], ["sandbox", "--help"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(argv)
    main_help, list_help, sandbox_help = capsys.readouterr().out.split("usage: ")[1:]
    assert "With no COMMAND, exmado opens the dashboard" in " ".join(main_help.split())
    assert "--readonly" in main_help and "--readonly" not in list_help
    assert "default 8765" in sandbox_help


def test_readonly_after_a_command_that_opens_no_dashboard_is_refused(capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["jobs", "list", "--readonly"])
    assert done.value.code == 2 and "--readonly" in capsys.readouterr().err


def test_a_global_option_before_the_command_is_not_reset_after_it():
    args = build_parser().parse_args(["--config", "host.toml", "-v", "jobs", "list", "--json"])
    assert (args.config, args.verbose, args.readonly) == ("host.toml", True, False)


def test_config_after_the_command_is_read(env, tmp_path, capsys):
    host = tmp_path / "host.toml"
    host.write_text("[jobs]\nmax_concurrent_jobs = 0\n")
    code, _, err = run(capsys, "jobs", "list", "--config", str(host))
    assert code == 1 and "max_concurrent_jobs" in err and str(host) in err


def _rows(job_id: str) -> None:
    JobRow.create(job=job_id, row_number=2, key="INV-1", values={}, status="done", documents=1)
    JobRow.create(
        job=job_id, row_number=3, key="INV-2", values={}, status="failed", error="Boom [x]."
    )
    JobRow.create(
        job=job_id, row_number=4, key="INV-1", values={}, status="skipped", duplicate_of=2
    )


def test_rows_with_a_status_filter_and_json(job_id, capsys):
    _rows(job_id)
    rows = run_json(capsys, "jobs", "rows", job_id[:8])
    assert [(r["row_number"], r["status"]) for r in rows] == [
        (2, "done"),
        (3, "failed"),
        (4, "skipped"),
    ]
    failed = run_json(capsys, "jobs", "rows", job_id, "--status", "failed")
    assert [(r["key"], r["error"]) for r in failed] == [("INV-2", "Boom [x].")]
    code, out, _ = run(capsys, "jobs", "rows", job_id)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["ROW", "STATUS", "DOCS", "KEY", "ERROR"]
    assert lines[2].split() == ["3", "failed", "0", "INV-2", "Boom", "[x]."]
    assert lines[3].endswith("same key as row 2")


def test_rows_status_must_be_a_row_outcome(job_id, capsys):
    with pytest.raises(SystemExit) as usage:
        main(["jobs", "rows", job_id, "--status", "broken"])
    assert usage.value.code == 2
    assert "invalid choice: 'broken'" in capsys.readouterr().err


def test_files_as_a_table_and_json(job_id, capsys):
    _rows(job_id)
    row = JobRow.get(JobRow.row_number == 2)
    JobFile.create(job=job_id, row=row, document_id="17", path="A Corp/2024/INV-1.pdf", size=2048)
    files = run_json(capsys, "jobs", "files", job_id)
    assert [(f["row_number"], f["document_id"], f["path"]) for f in files] == [
        (2, "17", "A Corp/2024/INV-1.pdf")
    ]
    code, out, _ = run(capsys, "jobs", "files", job_id)
    assert code == 0 and out.splitlines()[1].split() == [
        "2",
        "17",
        "2.0",
        "KB",
        "A",
        "Corp/2024/INV-1.pdf",
    ]


def test_events_in_order_and_as_json(job_id, capsys):
    record_event(job_id, "Second line.", "warning")
    code, out, _ = run(capsys, "jobs", "events", job_id)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].endswith(" (CLI) for ana.")  # who created it, through which door, for whom
    assert "info    Created from march.xlsx by " in lines[0]
    assert lines[1].endswith("warning Second line.")
    events = run_json(capsys, "jobs", "events", job_id)
    assert [e["level"] for e in events] == ["info", "warning"]
    assert events[0]["at"].endswith("Z")


def test_events_follow_prints_new_events_until_the_job_ends(job_id, capsys):
    def finish_later() -> None:
        time.sleep(0.3)
        record_event(job_id, "Later news.")
        transition(job_id, JobStatus.CANCELLED)
        record_event(job_id, "Cancelled at last.")

    worker = threading.Thread(target=finish_later)
    worker.start()
    code, out, _ = run(capsys, "jobs", "events", job_id, "--follow", "--json")
    worker.join()
    messages = [json.loads(line)["message"] for line in out.splitlines()]
    assert code == 0
    assert messages[1:] == ["Later news.", "Cancelled at last."]


def test_list_filters_by_text_and_since(env, tmp_path, capsys):
    book = write_workbook(tmp_path / "march.xlsx", [["INV-1"]])
    create = ("jobs", "create", str(book), "--profile", "invoices")
    ana = run_json(capsys, *create, "--user", "ana", "--name", "March invoices")["id"]
    old = run_json(capsys, *create, "--user", "luis", "--name", "April")["id"]
    Job.update(created_at=utcnow() - timedelta(days=3)).where(Job.id == old).execute()
    assert [j["id"] for j in run_json(capsys, "jobs", "list", "ANA")] == [ana]
    assert [j["id"] for j in run_json(capsys, "jobs", "list", "april")] == [old]
    assert [j["id"] for j in run_json(capsys, "jobs", "list", "--since", "2d")] == [ana]
    assert len(run_json(capsys, "jobs", "list", "--since", "4d")) == 2
    zone = load_settings().zone  # a date or time is the user's, in the configured zone
    today = datetime.now(zone).date().isoformat()
    assert [j["id"] for j in run_json(capsys, "jobs", "list", "--since", today)] == [ana]
    in_utc = (utcnow() - timedelta(days=3, hours=1)).isoformat(timespec="minutes") + "+00:00"
    assert len(run_json(capsys, "jobs", "list", "--since", in_utc)) == 2


def test_since_that_is_no_time_is_a_usage_error(env, capsys):
    with pytest.raises(SystemExit) as usage:
        main(["jobs", "list", "--since", "last tuesday"])
    assert usage.value.code == 2
    assert "must be a date (2026-11-28)" in capsys.readouterr().err


def test_version_through_the_console_entry_point(env):
    result = subprocess.run(
        [sys.executable, "-m", "exmado_tui.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "exmado 0.1.0\n")


def test_the_dashboard_s_positional_list_jobs_call_keeps_its_meaning(env, tmp_path, capsys):
    """`since` is keyword-only: the jobs screen calls list_jobs(statuses, text, sort, ...)."""
    from exmado_tui.store.queries import list_jobs

    book = write_workbook(tmp_path / "march.xlsx", [["INV-1"]])
    for name in ("Alpha", "Beta"):
        run_json(capsys, "jobs", "create", str(book), "--profile", "invoices", "--name", name)
    page = list_jobs(None, None, "name", False, 1, 1)
    assert [job.name for job in page] == ["Beta"]
