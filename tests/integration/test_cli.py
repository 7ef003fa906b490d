"""The `exmado` command line: jobs commands, JSON for scripts, exit codes, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from exmado_tui.cli import main
from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.services.queue import JobQueue
from exmado_tui.store.models import Job
from tests.cli_runner import run, run_json
from tests.job_queue import queued_messages


def test_create_then_list_as_json(env, workbook, capsys):
    created = run_json(
        capsys,
        "jobs",
        "create",
        str(workbook),
        "--profile",
        "invoices",
        "--user",
        "ana",
        "--name",
        "March",
    )
    listed = run_json(capsys, "jobs", "list")
    assert [j["id"] for j in listed] == [created["id"]]
    assert listed[0]["status"] == "PENDING"
    assert listed[0]["user"] == "ana"
    assert listed[0]["name"] == "March"
    assert listed[0]["created_at"].endswith("Z")


def test_list_filters_by_status(env, workbook, capsys):
    first = run_json(capsys, "jobs", "create", str(workbook), "--profile", "invoices")
    run_json(capsys, "jobs", "create", str(workbook), "--profile", "invoices")
    run_json(capsys, "jobs", "cancel", first["id"])
    cancelled = run_json(capsys, "jobs", "list", "--status", "cancelled")
    assert [j["id"] for j in cancelled] == [first["id"]]


def test_human_list_shows_short_ids(env, workbook, capsys):
    created = run_json(capsys, "jobs", "create", str(workbook), "--profile", "invoices")
    code, out, _ = run(capsys, "jobs", "list")
    assert code == 0
    assert created["id"][:8] in out
    assert "PENDING" in out


def test_start_pause_cancel_with_short_ids(env, workbook, capsys, redis_url):
    created = run_json(capsys, "jobs", "create", str(workbook), "--profile", "invoices")
    short = created["id"][:6]
    assert run_json(capsys, "jobs", "start", short)["wait_reason"] == "waiting for a worker"
    assert len(queued_messages(redis_url)) == 1
    transition(created["id"], JobStatus.VALIDATING, worker="host:1")  # a worker holds it
    transition(created["id"], JobStatus.RUNNING)
    assert run_json(capsys, "jobs", "pause", short)["control"] == "pause"
    assert run_json(capsys, "jobs", "cancel", short)["control"] == "cancel"


def test_create_start_queues_at_once(env, workbook, capsys, redis_url):
    code, out, _ = run(capsys, "jobs", "create", str(workbook), "--profile", "invoices", "--start")
    assert code == 0
    assert "queued" in out
    assert len(queued_messages(redis_url)) == 1


def test_purging_an_empty_queue_says_so_without_asking(env, capsys, redis_url, monkeypatch):
    """It asked to drop 0 messages, and exited 1 when not told yes."""
    monkeypatch.setattr("builtins.input", lambda question: pytest.fail(f"asked {question!r}"))
    code, out, _ = run(capsys, "queue", "purge")
    assert code == 0 and out.startswith("Nothing to purge: the job queue at redis://"), out
    assert out.rstrip().endswith(" is empty.")


def test_purge_reads_the_queue_depth_once(env, workbook, capsys, redis_url, monkeypatch):
    """The question's numbers are the depth it read to know the queue was not empty (it asked
    Redis twice: once for "empty?", once for the question)."""
    run(capsys, "jobs", "create", str(workbook), "--profile", "invoices", "--start")
    read = JobQueue.depth
    reads = []

    def counted(queue):
        reads.append(read(queue))
        return reads[-1]

    monkeypatch.setattr(JobQueue, "depth", counted)
    monkeypatch.setattr("builtins.input", lambda question: print(question) or "n")
    code, out, _ = run(capsys, "queue", "purge")
    assert code == 1 and "Drop 1 ready and 0 delayed job messages" in out, out
    assert len(reads) == 1


def test_show_retry_fail_delete(env, workbook, capsys, redis_url):
    created = run_json(capsys, "jobs", "create", str(workbook), "--profile", "invoices")
    job_id = created["id"]
    shown = run_json(capsys, "jobs", "show", job_id[:8])
    assert shown["config"]["cabinet"] == "Invoices"
    assert shown["row_counts"] == {}
    assert run_json(capsys, "jobs", "fail", job_id, "--reason", "dead host")["status"] == "FAILED"
    assert run_json(capsys, "jobs", "retry", job_id)["status"] == "PENDING"
    run_json(capsys, "jobs", "cancel", job_id)
    code, out, _ = run(capsys, "jobs", "delete", job_id, "--yes")
    assert code == 0
    assert "files kept" in out
    assert Job.select().count() == 0


def test_wait_exit_code_follows_the_outcome(env, workbook, capsys):
    created = run_json(capsys, "jobs", "create", str(workbook), "--profile", "invoices")
    code, _, err = run(capsys, "jobs", "wait", created["id"], "--timeout", "0.1")
    assert code == 1
    assert "still PENDING" in err
    run_json(capsys, "jobs", "cancel", created["id"])
    code, out, _ = run(capsys, "jobs", "wait", created["id"])
    assert (code, out.strip().endswith("CANCELLED")) == (1, True)


def test_wait_on_a_failed_job_says_why_it_failed(env, workbook, capsys):
    created = run_json(capsys, "jobs", "create", str(workbook), "--profile", "invoices")
    run_json(capsys, "jobs", "fail", created["id"], "--reason", "the cabinet was archived")
    code, out, _ = run(capsys, "jobs", "wait", created["id"])
    assert code == 1
    assert out.startswith(f"Job {created['id'][:8]}: FAILED — Marked failed by ")
    assert out.endswith(": the cabinet was archived.\n")


def test_from_json_accepts_the_old_payload(env, workbook, capsys, tmp_path, redis_url):
    payload = tmp_path / "job.json"
    payload.write_text(
        json.dumps(
            {
                "user_name": "maria",
                "excel_file_name": workbook.name,
                "output_directory": str(tmp_path / "exports"),
                "config": {"auto_start": True, "profile": "invoices", "format": "zip", "legacy": 1},
            }
        )
    )
    code, out, err = run(capsys, "jobs", "create", "--from-json", str(payload), "--json")
    assert code == 0, err
    job = json.loads(out)
    assert job["user"] == "maria"
    assert job["output_dir"] == str(tmp_path / "exports")
    assert job["config"]["format"] == "zip"
    assert "ignoring unknown config keys" in err and "legacy" in err
    assert len(queued_messages(redis_url)) == 1


def test_user_mistakes_are_one_line_and_exit_1(env, capsys, tmp_path):
    code, _, err = run(capsys, "jobs", "create", str(tmp_path / "old.xls"))
    assert (code, err.count("\n")) == (1, 1)
    assert err.startswith("exmado: Workbook")
    code, _, err = run(capsys, "jobs", "show", "nosuchjob")
    assert code == 1
    assert "No job with id 'nosuchjob'" in err
    assert "Traceback" not in err


def test_usage_errors_exit_2(env, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["jobs", "list", "--status", "sleeping"])
    assert caught.value.code == 2
    assert "unknown status 'sleeping'" in capsys.readouterr().err


def test_a_wrong_setting_stops_the_cli_with_its_name(env, capsys, monkeypatch):
    monkeypatch.setenv("MAX_CONCURRENT_JOBS", "zero")
    code, _, err = run(capsys, "jobs", "list")
    assert code == 1
    assert "MAX_CONCURRENT_JOBS" in err


def test_config_show_masks_secrets(env, capsys, monkeypatch):
    monkeypatch.setenv("DOCUWARE_PASSWORD", "hunter2")
    monkeypatch.setenv("REDIS_URL", "redis://:pw123@127.0.0.1:1/0")
    code, out, _ = run(capsys, "config", "show")
    assert code == 0
    assert "hunter2" not in out and "pw123" not in out
    assert "password = '***'" in out
    data = run_json(capsys, "config", "show")
    assert data["broker"]["url"] == "redis://:***@127.0.0.1:1/0"


def test_config_show_names_the_metrics_address(env, capsys, monkeypatch):
    code, out, _ = run(capsys, "config", "show")
    assert (code, out.count("\n[metrics]\nlisten = ''\n")) == (0, 1)
    monkeypatch.setenv("EXMADO_METRICS_LISTEN", "127.0.0.1:9464")
    code, out, _ = run(capsys, "config", "show")
    assert "\n[metrics]\nlisten = '127.0.0.1:9464'\n" in out


def test_the_console_entry_point_runs(env, workbook):
    result = subprocess.run(
        [sys.executable, "-m", "exmado_tui.cli", "jobs", "list", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_an_operator_s_fail_prints_its_result_and_no_log_line(env, workbook, capsys):
    job_id = run_json(capsys, "jobs", "create", str(workbook), "--profile", "invoices")["id"]
    result = subprocess.run(
        [sys.executable, "-m", "exmado_tui.cli", "jobs", "fail", job_id, "--reason", "dead host"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert result.returncode == 0 and job_id[:8] in result.stdout
    assert result.stderr == ""  # the event is in the store, not echoed as an ERROR line


def test_jobs_report_writes_a_key_with_control_characters_and_never_a_traceback(
    env, workbook, capsys, tmp_path
):
    from exmado_tui.store.models import JobRow

    created = run_json(capsys, "jobs", "create", str(workbook), "--profile", "invoices")
    JobRow.create(job=created["id"], row_number=2, key="INV\x00\x1b", values={}, status="failed")
    code, out, err = run(capsys, "jobs", "report", created["id"])
    assert (code, err) == (0, "")
    assert "report" in out
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the output folder should be")
    Job.update(output_dir=str(blocked / "out")).where(Job.id == created["id"]).execute()
    code, out, err = run(capsys, "jobs", "report", created["id"])
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1
    assert err.startswith(f"exmado: The report of job {created['id'][:8]} cannot be written into ")
