"""What `exmado up` and `exmado status` print of programs supervisord still calls STARTING."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from exmado_tui.commands import ops
from exmado_tui.config.loading import load_settings
from exmado_tui.services.supervision import Program, ProgramState


class Stack:
    """supervisord's answers (the boundary): its status table and each program's state."""

    def __init__(self, run: Path, programs: list[Program]) -> None:
        self.run, self._programs = run, programs

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        lines = [f"{p.name:<10} {p.state}" for p in self._programs]
        return subprocess.CompletedProcess(args, 0, "\n".join(lines), "")

    def programs(self) -> list[Program]:
        return self._programs

    def log(self, name: str) -> Path:
        return self.run / f"{name}.log"


@pytest.mark.parametrize(
    ("worker", "said"),
    [
        (Program("worker", ProgramState.STARTING, ready=True), True),
        (Program("worker", ProgramState.RUNNING), False),
    ],
)
def test_a_program_starting_and_ready_is_said_to_be_up(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str], worker: Program, said: bool
) -> None:
    """supervisord says RUNNING only after `startsecs`; `up` returns once each said it is up,
    so its table shows STARTING while it exits 0: a line says what that STARTING means."""
    settings = load_settings(environ={"REDIS_URL": redis_url, "EXMADO_DATA_DIR": str(tmp_path)})
    stack = Stack(tmp_path, [Program("redis", ProgramState.RUNNING), worker])
    assert ops._report(stack, settings, explain=True) == 0
    out = capsys.readouterr().out
    line = "STARTING and ready (worker): up, in their first seconds."
    assert (line in out) is said
