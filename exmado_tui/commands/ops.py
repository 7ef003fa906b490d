"""`exmado up | down | status`: the background services, run by supervisord."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from exmado_tui.commands.context import Context
from exmado_tui.localredis import redis_server_binary
from exmado_tui.queue import JobQueue
from exmado_tui.settings import DEFAULTS_FILE

CONF = DEFAULTS_FILE.parent.parent / "supervisord.conf"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Longer than the worker's stopwaitsecs (90) plus the drop folder's and Redis's.
STOP_WAIT_S = 120


def register(subparsers: argparse._SubParsersAction) -> None:
    commands = (
        ("up", "start Redis (if needed), the workers and the drop folder", up_command),
        ("down", "stop everything `exmado up` started", down_command),
        ("status", "what runs under supervisord", status_command),
    )
    for name, summary, handler in commands:
        parser = subparsers.add_parser(name, help=summary)
        parser.add_argument(
            "--supervisor-conf",
            type=Path,
            default=CONF,
            metavar="PATH",
            help="supervisord configuration (default: the project's)",
        )
        parser.set_defaults(handler=handler)
    redis = subparsers.add_parser(
        "redis",
        help="run the bundled redis-server on the broker URL's port (supervisord runs this)",
    )
    redis.set_defaults(handler=redis_command)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def supervisorctl(conf: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_bin("supervisorctl"), "-c", str(conf), *args], capture_output=True, text=True
    )


def supervisord_running(conf: Path) -> bool:
    # supervisorctl answers non-zero when it cannot reach supervisord.
    return supervisorctl(conf, "pid").returncode == 0


def up_command(args: argparse.Namespace, ctx: Context) -> int:
    conf = args.supervisor_conf
    (conf.parent / ".run").mkdir(exist_ok=True)
    if not supervisord_running(conf):
        # A supervisord still shutting down, or the programs a killed one left behind, would
        # block the socket, hold the Redis port or run twice beside the new ones.
        _wait_gone([_supervisord_pid(conf)], STOP_WAIT_S)
        _stop_leftovers(conf, ctx)
        started = subprocess.run(
            [_bin("supervisord"), "-c", str(conf)], capture_output=True, text=True
        )
        if started.returncode != 0:
            print(f"exmado: supervisord did not start: {started.stderr.strip()}", file=sys.stderr)
            return 1
    queue = JobQueue.from_settings(ctx.settings.broker)
    if not queue.ping() and urlsplit(ctx.settings.broker.url).hostname in LOOPBACK:
        supervisorctl(conf, "start", "redis")
        _wait_for(queue.ping, 10)
    return status_command(args, ctx)


def _supervisord_pid(conf: Path) -> int | None:
    try:
        return int((conf.parent / ".run" / "supervisord.pid").read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait_gone(pids: list[int | None], seconds: float) -> bool:
    return _wait_for(lambda: not any(_alive(pid) for pid in pids), seconds)


def _leftovers(conf: Path, ctx: Context) -> tuple[list[int], list[int]]:
    """Programs of this supervisord.conf still running without their supervisord: the
    workers and the watcher (they carry its socket in their environment), then the bundled
    Redis (it overwrites its environment with its title; its pid file names it)."""
    marker = f"SUPERVISOR_SERVER_URL=unix://{conf.parent / '.run' / 'supervisor.sock'}".encode()
    programs = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                programs.append(int(entry.name))
    redis = []
    folder = ctx.settings.data_dir / "redis"
    with contextlib.suppress(OSError, ValueError):
        pid = int((folder / "redis.pid").read_text())
        ours = Path(f"/proc/{pid}/cwd").resolve() == folder.resolve()
        if ours and b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes():
            redis.append(pid)
    return [p for p in programs if _alive(p)], [p for p in redis if _alive(p)]


def _stop_leftovers(conf: Path, ctx: Context) -> None:
    programs, redis = _leftovers(conf, ctx)
    if programs or redis:
        print(f"Stopping {len(programs) + len(redis)} process(es) left by a stopped supervisord.")
    for pids in (programs, redis):  # Redis last: the workers queue their running jobs in it
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pids, STOP_WAIT_S):
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            _wait_gone(pids, 5)


def _wait_for(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def down_command(args: argparse.Namespace, ctx: Context) -> int:
    conf = args.supervisor_conf
    if not supervisord_running(conf):
        _wait_gone([_supervisord_pid(conf)], STOP_WAIT_S)  # a `down` already under way
        _stop_leftovers(conf, ctx)
        print("Nothing runs: supervisord is not running.")
        return 0
    pid = _supervisord_pid(conf)
    print("Stopping (a running job is queued again at its next row)…", flush=True)
    supervisorctl(conf, "shutdown")  # returns at once; supervisord stops its programs after
    if not _wait_gone([pid], STOP_WAIT_S):
        print(f"exmado: supervisord (pid {pid}) is still stopping; see .run/supervisord.log.")
        return 1
    print("Stopped the workers, the drop folder and the bundled Redis (if it ran).")
    return 0


def status_command(args: argparse.Namespace, ctx: Context) -> int:
    if not supervisord_running(args.supervisor_conf):
        print("supervisord is not running; start everything with `exmado up`.")
        return 1
    print(supervisorctl(args.supervisor_conf, "status").stdout.rstrip())
    queue = JobQueue.from_settings(ctx.settings.broker)
    print(f"Redis at {queue.url}: {'reachable' if queue.ping() else 'NOT reachable'}")
    return 0


def redis_command(args: argparse.Namespace, ctx: Context) -> int:
    """Become redis-server, configured from config/redis.conf and the broker settings."""
    url = urlsplit(ctx.settings.broker.url)
    if url.hostname not in LOOPBACK:
        print(
            f"exmado: [broker] url points at {url.hostname}, not this machine; "
            "the bundled Redis serves only 127.0.0.1.",
            file=sys.stderr,
        )
        return 1
    folder = ctx.settings.data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    password = ctx.settings.broker.password.reveal() or _url_password(url)
    conf = _private_redis_conf(folder, url.port or 6379, password)
    os.execv(redis_server_binary(), [redis_server_binary(), str(conf)])


def _url_password(url: SplitResult) -> str:
    """The password of redis://:PASSWORD@host/0 or redis://host/0?password=PASSWORD."""
    if url.password:
        return unquote(url.password)
    return parse_qs(url.query).get("password", [""])[0]


def _quoted(value: str) -> str:
    """A redis.conf string: double quotes, with backslash escapes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def _private_redis_conf(folder: Path, port: int, password: str) -> Path:
    """Our redis.conf plus port, folder, pid file and password, in an owner-only file (not on
    argv)."""
    lines = [
        f"include {_quoted(str(DEFAULTS_FILE.parent / 'redis.conf'))}",
        f"port {port}",
        f"dir {_quoted(str(folder))}",
        f"pidfile {_quoted(str(folder / 'redis.pid'))}",
    ]
    if password:
        lines.append(f"requirepass {_quoted(password)}")
    conf = folder / "redis.conf"
    conf.touch(mode=0o600)
    conf.chmod(0o600)
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return conf
