"""`exmado demo`: the README's first command exports the demo workbook end to end."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import openpyxl

from exmado_tui.services import supervision
from tests.tui.terminal import Terminal


def test_the_demo_exports_the_demo_workbook_and_its_closing_hint_opens_the_dashboard(
    tmp_path: Path,
):
    env = {**os.environ, "EXMADO_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "exmado_tui.cli", "demo", "--latency-ms", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The demo workbook: 30 numbers with hits, 2 more, one missing, two repeated rows.
    assert "COMPLETED_WITH_ERRORS: 32 found, 1 not found, 0 ambiguous, 0 failed, 2 skipped" in (
        result.stdout
    )
    [output] = (tmp_path / "demo" / "output").iterdir()
    manifest = json.loads((output / "exmado-manifest.json").read_text())
    files = list(output.rglob("*.pdf"))
    assert len(files) >= 32
    assert len(manifest["files"]) == len(files)
    report = openpyxl.load_workbook(output / "exmado-report.xlsx", read_only=True)
    lines = list(report.active.iter_rows(values_only=True))
    assert len(lines) == 1 + 35  # a header, then one line per non-blank input row
    assert "Traceback" not in result.stderr
    assert "(The demo workbook holds, on purpose, an invoice the sandbox does not" in result.stdout
    hint = result.stdout.strip().splitlines()[-1]
    assert hint.startswith("Look at it in the dashboard:  ")
    command = hint.split(":  ", 1)[1]
    assert command.endswith(" demo --dashboard")
    (tmp_path / "elsewhere").mkdir()
    opens_the_dashboard(command, tmp_path, quit_with_q)
    opens_the_dashboard(command, tmp_path, Terminal.kill)  # the terminal closed under it


def quit_with_q(terminal: Terminal) -> None:
    terminal.keys("q")
    deadline = time.monotonic() + 30
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not terminal.alive(), "q did not end the demo's dashboard"


def opens_the_dashboard(command: str, tmp_path: Path, close: Callable[[Terminal], None]) -> None:
    """The hint the demo ends with, typed as printed into a terminal from another folder,
    shows the demo's job; closing the dashboard leaves none of the demo's processes behind."""
    terminal = Terminal(f"exmado-demo-{os.getpid()}")
    elsewhere = tmp_path / "elsewhere"
    try:
        terminal.start(f"cd {shlex.quote(str(elsewhere))} && env TERM=xterm-256color {command}")
        # The demo's one job (COMPLETED_WITH_ERRORS), its Redis and sandbox started again.
        for words in ("1 All 1", "7 Errors 1", "Redis ✔", "DocuWare ✔"):
            assert words in terminal.wait_for(words, timeout=60), words
        close(terminal)
    finally:
        terminal.kill()
    assert supervision.wait_for(lambda: demo_processes(tmp_path) == [], 30), "left running"


def demo_processes(data_dir: Path) -> list[int]:
    """Live processes started for the demo in `data_dir` (the worker and Redis)."""
    return [
        pid
        for pid in supervision.with_environment(f"EXMADO_DATA_DIR={data_dir / 'demo'}")
        if pid != os.getpid()
    ] + [pid for pid in _redis_pids(data_dir / "demo" / "redis")]


def _redis_pids(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if supervision.working_folder(pid) == folder and supervision.alive(pid):
            found.append(pid)
    return found
