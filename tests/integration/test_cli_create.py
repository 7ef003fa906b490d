"""`exmado jobs create` and `start`: the workbook is checked before anything is stored,
options that do not go together are usage errors, and the legacy payload finds its profile."""

from __future__ import annotations

import json
from pathlib import Path

from exmado_tui.cli import main
from exmado_tui.config.loading import load_settings
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job
from exmado_tui.ui.logic.job_forms import read_preview
from tests.cli_runner import run, run_json
from tests.job_queue import queued_messages
from tests.workbooks import INVOICE_COLUMNS, write_workbook


def _nothing_stored(env: dict[str, str]) -> bool:
    open_database(load_settings().database_url)
    copies = Path(env["EXMADO_DATA_DIR"]) / "workbooks"
    return Job.select().count() == 0 and not any(copies.glob("*/*"))


def test_a_workbook_without_the_mapped_column_is_refused_with_the_form_s_sentence(
    env, tmp_path, capsys
):
    wrong = write_workbook(tmp_path / "wrong.xlsx", [["INV-1"]], header=("Supplier",))
    code, out, err = run(capsys, "jobs", "create", str(wrong), "--profile", "invoices")
    form_sentence = read_preview(wrong, "", INVOICE_COLUMNS).error
    assert "no column 'Invoice number'" in form_sentence
    assert (code, out, err) == (1, "", f"exmado: {form_sentence}\n")
    assert _nothing_stored(env)


def test_a_corrupt_workbook_is_refused_before_anything_is_stored(env, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 this is no zip archive at all")
    code, _, err = run(capsys, "jobs", "create", str(corrupt), "--profile", "invoices", "--start")
    assert code == 1
    assert err == f"exmado: {read_preview(corrupt, '', INVOICE_COLUMNS).error}\n"
    assert "cannot be read as an Excel workbook" in err
    assert _nothing_stored(env)


def test_a_missing_sheet_named_by_the_job_is_refused(env, tmp_path, capsys):
    book = write_workbook(tmp_path / "march.xlsx", [["INV-1"]])
    payload = tmp_path / "job.json"
    payload.write_text(
        json.dumps(
            {"excel_file_name": book.name, "config": {"profile": "invoices", "sheet": "April"}}
        )
    )
    code, _, err = run(capsys, "jobs", "create", "--from-json", str(payload))
    assert code == 1
    assert "has no sheet named 'April'" in err
    assert _nothing_stored(env)


def test_wait_without_start_is_a_usage_error(env, tmp_path, capsys):
    book = write_workbook(tmp_path / "march.xlsx", [["INV-1"]])
    code, _, err = run(capsys, "jobs", "create", str(book), "--profile", "invoices", "--wait")
    assert code == 2
    assert "--wait needs --start" in err
    assert _nothing_stored(env)


def test_start_says_the_job_was_queued(env, tmp_path, capsys, redis_url):
    book = write_workbook(tmp_path / "march.xlsx", [["INV-1"]])
    job_id = run_json(capsys, "jobs", "create", str(book), "--profile", "invoices")["id"]
    code, out, _ = run(capsys, "jobs", "start", job_id)
    assert code == 0
    assert out == f"Job {job_id[:8]} queued for the workers.\n"
    assert len(queued_messages(redis_url)) == 1


def _payload_without_profile(tmp_path: Path) -> Path:
    book = write_workbook(tmp_path / "march.xlsx", [["INV-1"]])
    payload = tmp_path / "job.json"
    payload.write_text(json.dumps({"user_name": "maria", "excel_file_name": book.name}))
    return payload


def test_a_payload_without_profile_takes_the_default_profile(env, tmp_path, capsys):
    host = tmp_path / "host.toml"
    host.write_text('[jobs]\ndefault_profile = "invoices"\n')
    payload = _payload_without_profile(tmp_path)
    code, out, err = run(
        capsys, "--config", str(host), "jobs", "create", "--from-json", str(payload), "--json"
    )
    assert code == 0, err
    job = json.loads(out)
    assert (job["profile"], job["config"]["cabinet"]) == ("invoices", "Invoices")


def test_a_payload_without_profile_and_no_default_says_what_to_set(env, tmp_path, capsys):
    payload = _payload_without_profile(tmp_path)
    code, _, err = run(capsys, "jobs", "create", "--from-json", str(payload))
    assert code == 1
    assert err == (
        f"exmado: Job payload {payload} names no profile (config.profile); pass --profile NAME "
        "or set [jobs] default_profile in the configuration.\n"
    )
    assert _nothing_stored(env)


def test_a_default_profile_never_overrides_one_that_is_given(env, tmp_path, capsys):
    host = tmp_path / "host.toml"
    host.write_text('[jobs]\ndefault_profile = "no-such-profile"\n')
    payload = _payload_without_profile(tmp_path)
    argv = ["--config", str(host), "jobs", "create", "--from-json", str(payload)]
    code, _, err = run(capsys, *argv, "--profile", "invoices", "--json")
    assert code == 0, err
    assert main(argv) == 1
    assert "'no-such-profile' not found" in capsys.readouterr().err


def test_start_on_the_command_line_starts_a_payload_without_auto_start(
    env, tmp_path, capsys, redis_url
):
    payload = _payload_without_profile(tmp_path)
    argv = ("jobs", "create", "--from-json", str(payload), "--profile", "invoices", "--start")
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert out.endswith(": PENDING, queued.\n")
    assert len(queued_messages(redis_url)) == 1


def test_a_workbook_open_in_excel_makes_its_job_with_a_warning(env, tmp_path, capsys):
    workbook = write_workbook(tmp_path / "march.xlsx", [["INV-1"]])
    (tmp_path / "~$march.xlsx").write_bytes(b"\x0bjdoe" + bytes(150))
    code, out, err = run(capsys, "jobs", "create", str(workbook), "--profile", "invoices")
    assert code == 0 and out.startswith("Created job ")
    assert err == (
        "exmado: warning: march.xlsx is open in Excel (its lock file ~$march.xlsx is beside it):"
        " the job has the workbook as last saved; changes not saved yet are not in it.\n"
    )
    job = Job.get()
    warned = [e.message for e in job.events if e.level == "warning"]
    assert warned == [err.removeprefix("exmado: warning: ").strip()]  # the dashboard shows it
