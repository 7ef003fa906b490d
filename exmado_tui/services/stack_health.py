"""What supervisord's programs are doing: each one's state, whether the stack has settled
(every program running, or given up on), and the line that says why a failed one failed.

Every `exmado up` marks where its run begins in each program's log (`RUN_MARK`), so a failed
program's first error line, and `exmado logs`, come from this run and not an earlier one.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

RUN_MARK = "──── exmado up at "
# supervisord's programs (supervisord.conf) and supervisord itself, each with its log.
PROGRAMS = ("worker", "watch", "redis", "supervisord")
# A failed program's log is read from its end back to this run's mark, at most this much.
TAIL_BYTES = 64 * 1024
ERROR_LINE = re.compile(r"^exmado: |Error\b|Exception\b|error:|FATAL|refused", re.IGNORECASE)
# The bundled Redis is started only when [broker] url names this machine and none answers.
OPTIONAL = {"redis"}


class ProgramState(StrEnum):
    """supervisord's words for a program's state."""

    STOPPED = "STOPPED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    BACKOFF = "BACKOFF"
    STOPPING = "STOPPING"
    EXITED = "EXITED"
    FATAL = "FATAL"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Program:
    name: str
    state: ProgramState
    ready: bool = False  # it said it got through its start since supervisord last started it

    @property
    def running(self) -> bool:
        """Running, or started and said so (its `startsecs` may not be over yet)."""
        return self.state is ProgramState.RUNNING or (
            self.state is ProgramState.STARTING and self.ready
        )

    @property
    def failed(self) -> bool:
        """Not running although it should: a stopped optional program (Redis) is fine."""
        if self.running:
            return False
        return not (self.name in OPTIONAL and self.state is ProgramState.STOPPED)

    @property
    def settled(self) -> bool:
        """Running, or left so by supervisord until someone acts (STARTING and BACKOFF pass)."""
        return self.running or self.state in GIVEN_UP


GIVEN_UP = {ProgramState.STOPPED, ProgramState.EXITED, ProgramState.FATAL}


def ready_file(run: Path, program: str) -> Path:
    return run / f"{program}.ready"


def announce_ready(run: Path) -> None:
    """Under supervisord, say that this program got through its start (settings, folders),
    so that `exmado up` need not wait out `startsecs` to know it runs."""
    name = os.environ.get("SUPERVISOR_PROCESS_NAME")
    if name and run.is_dir():
        with contextlib.suppress(OSError):
            ready_file(run, name).touch()


def mark_run(log: Path, now: datetime | None = None) -> None:
    """Append this run's mark to a program's log; supervisord appends after it."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")
    with log.open("a", encoding="utf-8") as file:
        file.write(f"{RUN_MARK}{stamp} ────\n")


def this_run(lines: list[str]) -> list[str]:
    """The lines from the last run mark on (the mark included); all of them without one."""
    marks = [i for i, line in enumerate(lines) if line.startswith(RUN_MARK)]
    return lines[marks[-1] :] if marks else lines


def first_error(log: Path) -> str:
    """The first line of this run's log that says what went wrong, else its last line."""
    try:
        with log.open("rb") as file:
            size = file.seek(0, 2)
            file.seek(max(0, size - TAIL_BYTES))
            text = file.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in this_run(text.splitlines()) if line.strip()]
    lines = [line for line in lines if not line.startswith(RUN_MARK)]
    return next((line for line in lines if ERROR_LINE.search(line)), lines[-1] if lines else "")
