"""supervisord for one data folder: where its state lives, its configuration, its processes.

Everything a stack writes while it runs — the supervisord.conf `exmado up` renders, the control
socket, the pid file and the programs' logs — lives in `run_dir(settings)`, inside the data
folder. Nothing is written beside the program, and one installation runs one stack per data
folder. supervisord's programs are this interpreter's `-m exmado_tui.cli`, so no checkout, venv
layout or script on PATH is needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from exmado_tui import resources
from exmado_tui.config.settings import Settings
from exmado_tui.errors import SettingsError
from exmado_tui.files.folders import private_folder
from exmado_tui.services import processes
from exmado_tui.services.stack_health import PROGRAMS, Program, ProgramState, mark_run, ready_file

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
        if pid is None or not processes.alive(pid):
            return False
        args, cwd = processes.command_line(pid), processes.working_folder(pid)
        if cwd is None or not any("supervisord" in os.path.basename(arg) for arg in args):
            return False
        return any(os.path.abspath(os.path.join(cwd, arg)) == str(self.conf) for arg in args)

    def leftovers(self) -> tuple[list[int], list[int]]:
        """Programs of this stack still running without their supervisord: the workers and the
        watcher (they carry its socket in their environment), then the bundled Redis (it
        overwrites its environment with its title; its pid file names it)."""
        programs = processes.with_environment(f"SUPERVISOR_SERVER_URL=unix://{self.socket}")
        redis: list[int] = []
        folder = self.data_dir / "redis"
        with contextlib.suppress(OSError, ValueError):
            pid = int((folder / "redis.pid").read_text())
            ours = processes.working_folder(pid) == folder.resolve()
            if ours and any("redis-server" in arg for arg in processes.command_line(pid)):
                redis.append(pid)
        return programs, [pid for pid in redis if processes.alive(pid)]
