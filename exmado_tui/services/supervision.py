"""supervisord for one data folder: where its state lives, its configuration, its processes,
what its programs are doing, and where the workers keep their Prometheus counters.

Everything a stack writes while it runs — the supervisord.conf `exmado up` renders, the control
socket, the pid file and the programs' logs — lives in `run_dir(settings)`, inside the data
folder. Nothing is written beside the program, and one installation runs one stack per data
folder. supervisord's programs are this interpreter's `-m exmado_tui.cli`, so no checkout, venv
layout or script on PATH is needed.

Its programs (`Program`, `first_error`…): each one's state, whether the stack has settled
(every program running, or given up on), and the line that says why a failed one failed.

Every `exmado up` marks where its run begins in each program's log (`RUN_MARK`), so a failed
program's first error line, and `exmado logs`, come from this run and not an earlier one.

The workers' counters (`metrics_dir`…): where the worker processes of one `exmado worker` keep
them. prometheus-client's multiprocess mode: each process writes its figures to files in one
folder named by `PROMETHEUS_MULTIPROC_DIR`, which the exposition reads and adds up. The folder
is `run/metrics/` in the data folder; `exmado worker` empties it as it starts (counters of an
earlier run would otherwise be added to this one's) and hands it to Dramatiq's processes through
the environment, before any of them imports prometheus-client.

Its processes, seen through /proc (`alive`, `with_environment`, `terminate`…): a stack's
supervisord and the Redis it started are known by their environment and working folder, so
`exmado down` finds and stops (TERM, then KILL) what a killed supervisord left running.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from exmado_tui import resources
from exmado_tui.config.settings import Settings
from exmado_tui.errors import SettingsError
from exmado_tui.files import private_folder

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


RUN_FOLDER = "run"
# AF_UNIX socket paths hold at most 107 bytes; a deep data folder gets a socket in /tmp.
SOCKET_PATH_MAX = 100
# The top-level supervisord.conf of the repository, shipped with the package.
CONF_TEMPLATE = "supervisord.conf"


def run_dir(settings: Settings) -> Path:
    """The folder of the stack's runtime state: supervisord's files and the programs' logs."""
    return settings.data_dir / RUN_FOLDER


def log_file(settings: Settings, program: str) -> Path:
    """The log of `program` (supervisord, redis, worker or watch) under supervisord."""
    return Stack.of(settings).log(program)


@dataclass(frozen=True)
class Stack:
    """supervisord and its programs for one data folder."""

    data_dir: Path
    run: Path

    @classmethod
    def of(cls, settings: Settings) -> Stack:
        return cls(settings.data_dir, run_dir(settings))

    @property
    def conf(self) -> Path:
        return self.run / "supervisord.conf"

    def log(self, program: str) -> Path:
        return self.run / f"{program}.log"

    @property
    def pid_file(self) -> Path:
        return self.run / "supervisord.pid"

    @property
    def socket(self) -> Path:
        socket = self.run / "supervisor.sock"
        if len(os.fsencode(socket)) <= SOCKET_PATH_MAX:
            return socket
        digest = hashlib.sha256(os.fsencode(self.run)).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"exmado-{os.getuid()}-{digest}.sock"

    def write_conf(self) -> Path:
        """Create the run folder (owner-only) and render supervisord.conf into it."""
        python = shlex.quote(sys.executable)
        for path in (str(self.run), python):
            if "%" in path:  # supervisord expands %(name)s in program paths more than once
                raise SettingsError(
                    f"supervisord cannot run from {path}: its path holds a '%'; set data_dir "
                    "(EXMADO_DATA_DIR) to a folder without one."
                )
        private_folder(self.run)
        template = resources.path(CONF_TEMPLATE).read_text(encoding="utf-8")
        text = template.format(
            data_dir=self.data_dir,
            python=python,
            conf=self.conf,
            socket=self.socket,
            run=self.run,
            exmado=f"{python} -m exmado_tui.cli",
        )
        self.conf.write_text(text, encoding="utf-8")
        return self.conf

    def start(self, config: str | None) -> subprocess.CompletedProcess[str]:
        """Start supervisord; its programs use this data folder and configuration file."""
        env = {**os.environ, "EXMADO_DATA_DIR": str(self.data_dir)}
        # The programs run in the run folder: a relative host file must not be looked up there.
        config = config or os.environ.get("EXMADO_CONFIG")
        if config:
            env["EXMADO_CONFIG"] = os.path.abspath(Path(config).expanduser())
        command = [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.write_conf())]
        for program in PROGRAMS:
            mark_run(self.log(program))
        return subprocess.run(command, capture_output=True, text=True, env=env)

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(self.conf)]
        return subprocess.run([*command, *args], capture_output=True, text=True)

    def programs(self) -> list[Program]:
        """Each program's state, asked of supervisord over its socket (no supervisorctl
        process: `up` asks every fraction of a second); empty when it does not answer."""
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(serverurl=f"unix://{self.socket}")
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
        try:
            infos = cast(list[dict[str, Any]], proxy.supervisor.getAllProcessInfo())
        except (OSError, xmlrpc.client.Error):
            return []
        finally:
            transport.close()
        return [self._program(info) for info in infos]

    def _program(self, info: dict[str, Any]) -> Program:
        try:
            ready = ready_file(self.run, info["name"]).stat().st_mtime >= float(info["start"])
        except OSError:
            ready = False
        return Program(info["name"], ProgramState(info["statename"]), ready)

    def answers(self) -> bool:
        # supervisorctl answers non-zero when it cannot reach supervisord.
        return self.conf.exists() and self.ctl("pid").returncode == 0

    def recorded_pid(self) -> int | None:
        """supervisord's pid as its pid file says (possibly stale)."""
        try:
            return int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """supervisord's pid as it reports it, else as its pid file says."""
        answer = self.ctl("pid")
        if answer.returncode == 0 and answer.stdout.strip().isdigit():
            return int(answer.stdout.strip())
        return self.recorded_pid()

    def is_supervisord(self, pid: int | None) -> bool:
        """`pid` is a live supervisord of this stack (a stale pid file may name any process)."""
        if pid is None or not alive(pid):
            return False
        args, cwd = command_line(pid), working_folder(pid)
        if cwd is None or not any("supervisord" in os.path.basename(arg) for arg in args):
            return False
        return any(os.path.abspath(os.path.join(cwd, arg)) == str(self.conf) for arg in args)

    def leftovers(self) -> tuple[list[int], list[int]]:
        """Programs of this stack still running without their supervisord: the workers and the
        watcher (they carry its socket in their environment), then the bundled Redis (it
        overwrites its environment with its title; its pid file names it)."""
        programs = with_environment(f"SUPERVISOR_SERVER_URL=unix://{self.socket}")
        redis: list[int] = []
        folder = self.data_dir / "redis"
        with contextlib.suppress(OSError, ValueError):
            pid = int((folder / "redis.pid").read_text())
            ours = working_folder(pid) == folder.resolve()
            if ours and any("redis-server" in arg for arg in command_line(pid)):
                redis.append(pid)
        return programs, [pid for pid in redis if alive(pid)]


ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"


def metrics_dir(settings: Settings) -> Path:
    return run_dir(settings) / "metrics"


def fresh_metrics_dir(settings: Settings) -> Path:
    """The folder, emptied: a new run's counters start at zero."""
    folder = metrics_dir(settings)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    return folder


def use_metrics_dir(settings: Settings) -> Path:
    """Point prometheus-client at the folder (made if missing); before it is imported."""
    folder = Path(os.environ.get(ENVIRONMENT) or metrics_dir(settings))
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)
    os.environ[ENVIRONMENT] = str(folder)
    return folder


# -- processes seen through /proc (Linux): alive or not, found by environment, stopped in steps --

POLL_S = 0.2
KILL_WAIT_S = 5


def alive(pid: int | None) -> bool:
    """Running and not a zombie (a container's init may never reap an orphan)."""
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    """Poll `check` until it holds (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(POLL_S)
    return False


def wait_gone(pids: Iterable[int | None], seconds: float) -> bool:
    watched = list(pids)
    return wait_for(lambda: not any(alive(pid) for pid in watched), seconds)


def command_line(pid: int) -> list[str]:
    """argv of `pid`, empty when it cannot be read."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []
    return [os.fsdecode(arg) for arg in argv if arg]


def working_folder(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def with_environment(entry: str) -> list[int]:
    """Live processes whose environment holds `entry` (`NAME=value`) exactly."""
    wanted, found = entry.encode(), []
    for folder in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if wanted in (folder / "environ").read_bytes().split(b"\0"):
                found.append(int(folder.name))
    return [pid for pid in found if alive(pid)]


def signal_all(pids: Iterable[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def terminate(pids: list[int], grace_s: float) -> None:
    """SIGTERM, then SIGKILL what is still there after `grace_s`."""
    signal_all(pids, signal.SIGTERM)
    if not wait_gone(pids, grace_s):
        signal_all(pids, signal.SIGKILL)
        wait_gone(pids, KILL_WAIT_S)
