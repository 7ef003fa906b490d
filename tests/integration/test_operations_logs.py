"""`exmado logs [PROGRAM] [-f]`: the logs of what supervisord runs, from the run folder."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exmado_tui.config.loading import load_settings
from exmado_tui.services.supervision import log_file, mark_run
from tests.cli_runner import run
from tests.environment import REPO


@pytest.fixture
def logs(env) -> dict[str, Path]:
    settings = load_settings()
    paths = {name: log_file(settings, name) for name in ("worker", "watch")}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    paths["worker"].write_text("".join(f"worker line {n}\n" for n in range(1, 31)))
    paths["watch"].write_text("invoices/march.xlsx → job 1234abcd\n")
    return paths


def test_every_log_under_its_name(logs, capsys):
    code, out, _ = run(capsys, "logs")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == f"==> worker ({logs['worker']}) <=="
    assert lines[1:21] == [f"worker line {n}" for n in range(11, 31)]
    assert lines[21:] == [f"==> watch ({logs['watch']}) <==", "invoices/march.xlsx → job 1234abcd"]


def test_one_program_its_last_lines_bare(logs, capsys):
    code, out, _ = run(capsys, "logs", "worker", "-n", "2")
    assert (code, out) == (0, "worker line 29\nworker line 30\n")


def test_no_logs_yet_says_where_it_looked(env, capsys):
    code, out, err = run(capsys, "logs", "redis")
    assert (code, out) == (1, "")
    run_folder = load_settings().data_dir / "run"
    assert (
        err == f"exmado: no log of redis in {run_folder} yet; start the stack with `exmado up`.\n"
    )


def test_follow_prints_what_is_appended(logs, env):
    process = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", "logs", "worker", "-f", "-n", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
    )
    try:
        assert process.stdout.readline() == "worker line 30\n"
        with logs["worker"].open("a") as log:
            log.write("a new line\n")
        assert process.stdout.readline() == "a new line\n"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_logs_begin_with_the_current_run(logs, capsys):
    mark_run(logs["worker"], datetime(2026, 12, 4, 9, 30, tzinfo=UTC))
    logs["worker"].open("a").write("this run's line\n")
    code, out, _ = run(capsys, "logs", "worker")
    assert (code, out) == (0, "──── exmado up at 2026-12-04 09:30:00 UTC ────\nthis run's line\n")
