"""A user's mistakes on the command line: one sentence, exit 1 (2 for usage), no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import peewee
import pytest

from exmado_tui.cli import main
from exmado_tui.commands.context import Context
from exmado_tui.config.loading import load_settings
from exmado_tui.errors import SettingsError, StoreUnavailableError
from exmado_tui.store.models import Job
from tests.cli_runner import run, run_json
from tests.environment import REPO


def one_sentence(err: str) -> str:
    assert err.startswith("exmado: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.removeprefix("exmado: ").strip()


def usage_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as caught:
        main(list(argv))
    assert caught.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_wait_timeout_must_be_seconds_not_negative(env, capsys, value):
    err = usage_error(capsys, "jobs", "wait", "abcd", "--timeout", value)
    assert f"--timeout: must be a number of seconds ≥ 0, got {value!r}" in err
    err = usage_error(capsys, "jobs", "create", "x.xlsx", "--wait", "--timeout", value)
    assert "--timeout: must be a number of seconds" in err


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_list_limit_must_be_a_positive_whole_number(env, capsys, value):
    err = usage_error(capsys, "jobs", "list", "--limit", value)
    assert f"--limit: must be a whole number ≥ 1, got {value!r}" in err


def payload(tmp_path: Path, data: object | bytes) -> Path:
    path = tmp_path / "job.json"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"excel_file_name": 5}, "excel_file_name must be text, got 5."),
        ({"excel_file_name": ["a.xlsx"]}, "excel_file_name must be text, got ['a.xlsx']."),
        ({"excel_file_name": "march.xlsx", "config": "x"}, "config must be a table, got 'x'."),
        ({"excel_file_name": "march.xlsx", "config": [1]}, "config must be a table, got [1]."),
        ({"excel_file_name": "march.xlsx", "user_name": 5}, "user_name must be text, got 5."),
        (
            {"excel_file_name": "march.xlsx", "output_directory": 5},
            "output_directory must be text, got 5.",
        ),
        ({"excel_file_name": "march.xlsx", "job_name": ["x"]}, "job_name must be text, got ['x']."),
        (
            {"excel_file_name": "march.xlsx", "config": {"auto_start": "no"}},
            "config.auto_start must be true or false, got 'no'.",
        ),
        (
            {"excel_file_name": "march.xlsx", "config": {"profile": 5}},
            "config.profile must be text, got 5.",
        ),
    ],
)
def test_from_json_with_wrong_types_names_the_field(
    env, workbook, tmp_path, capsys, data, expected
):
    path = payload(tmp_path, data)
    code, _, err = run(capsys, "jobs", "create", "--from-json", str(path))
    assert code == 1
    assert one_sentence(err) == f"Job payload {path}: {expected}"
    assert run_json(capsys, "jobs", "list") == []


def test_from_json_that_is_not_utf8_is_one_sentence(env, tmp_path, capsys):
    path = payload(tmp_path, b'\xff\xfe{"excel_file_name": "a.xlsx"}')
    code, _, err = run(capsys, "jobs", "create", "--from-json", str(path))
    assert code == 1
    assert one_sentence(err).startswith(f"Job payload {path} is not UTF-8 text")


def test_from_json_missing_file_is_one_sentence(env, tmp_path, capsys):
    path = tmp_path / "nope.json"
    code, _, err = run(capsys, "jobs", "create", "--from-json", str(path))
    assert code == 1
    assert one_sentence(err) == f"Job payload {path} cannot be read: No such file or directory."


def test_a_store_that_cannot_be_opened_is_one_sentence(env, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("EXMADO_DB_URL", "postgresql://bob:dbpw123@127.0.0.1:1/exmado")
    code, _, err = run(capsys, "jobs", "list")
    assert code == 1
    message = one_sentence(err)
    assert message.startswith("Cannot open the job store at postgresql://bob:***@127.0.0.1:1/")
    assert "dbpw123" not in err


def test_a_data_dir_that_is_a_file_is_one_sentence(env, capsys, monkeypatch, tmp_path):
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("EXMADO_DATA_DIR", str(tmp_path / "afile"))
    code, _, err = run(capsys, "jobs", "list")
    assert code == 1
    assert one_sentence(err).startswith("Cannot open the job store at sqlite:///")


def test_a_data_dir_below_a_file_names_that_file(env, capsys, monkeypatch, tmp_path):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("EXMADO_DATA_DIR", str(tmp_path / "file" / "sub"))
    code, _, err = run(capsys, "jobs", "list")
    assert code == 1
    db = tmp_path / "file" / "sub" / "exmado.db"
    assert one_sentence(err) == (
        f"Cannot open the job store at sqlite:///{db}: {tmp_path / 'file'} is a file, not a folder."
    )
    assert ": //" not in err


def test_a_store_missing_its_tables_is_a_settings_error_not_a_passing_one(env, capsys, monkeypatch):
    from exmado_tui.store import migrations

    def missed(db):
        raise peewee.OperationalError("no such table: schema_version")

    monkeypatch.setattr(migrations, "migrate", missed)
    with pytest.raises(SettingsError, match="no such table: schema_version") as caught:
        Context(load_settings(None)).open_store()
    assert not caught.value.retryable


def test_a_locked_store_at_open_is_a_passing_error_in_the_same_sentence(env, monkeypatch):
    from exmado_tui.store import migrations

    def locked(db):
        raise peewee.OperationalError("database is locked")

    monkeypatch.setattr(migrations, "migrate", locked)
    with pytest.raises(StoreUnavailableError) as caught:
        Context(load_settings(None)).open_store()
    assert str(caught.value).startswith("Cannot open the job store at sqlite:///")
    assert str(caught.value).endswith(": database is locked.")
    assert caught.value.reason == "database is locked"


def test_a_closed_pipe_ends_quietly(env, workbook):
    main(["jobs", "create", str(workbook), "--profile", "invoices"])
    process = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", "jobs", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        cwd=REPO,
    )
    process.stdout.close()  # like `exmado jobs list | head -0`
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def has_open(pid: int, path: Path) -> bool:
    """Whether process `pid` holds `path` open (Linux /proc)."""
    try:
        return any(link.resolve() == path.resolve() for link in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_during_wait_exits_quietly(env, workbook):
    main(["jobs", "create", str(workbook), "--profile", "invoices"])
    job_id = Job.get().id
    process = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", "jobs", "wait", job_id[:8]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        cwd=REPO,
        # a test run in the background inherits an ignored SIGINT; a person's shell does not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    store = Path(env["EXMADO_DATA_DIR"]) / "exmado.db"
    assert wait_until(lambda: has_open(process.pid, store), 60), "jobs wait never opened the store"
    process.send_signal(signal.SIGINT)  # Ctrl+C while it waits, not while Python starts
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.decode() == "" and out.decode() == ""
