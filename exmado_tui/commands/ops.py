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
from exmado_tui.folders import private_folder
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


def _absolute(conf: Path) -> Path:
    """The config path as supervisord's %(here)s sees it (absolute, not symlink-resolved), so
    the markers its programs carry match whatever form the path was given in."""
    return Path(os.path.abspath(conf))


def up_command(args: argparse.Namespace, ctx: Context) -> int:
    conf = _absolute(args.supervisor_conf)
    (conf.parent / ".run").mkdir(exist_ok=True)
    if not supervisord_running(conf):
        # A supervisord still shutting down, or the programs a killed one left behind, would
        # block the socket, hold the Redis port or run twice beside the new ones.
        if not _wait_supervisord_gone(conf):
            return 1
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


def _running_pid(conf: Path) -> int | None:
    """supervisord's pid as it reports it, else as its pid file says."""
    answer = supervisorctl(conf, "pid")
    if answer.returncode == 0 and answer.stdout.strip().isdigit():
        return int(answer.stdout.strip())
    return _supervisord_pid(conf)


def _alive_supervisord(pid: int | None, conf: Path) -> bool:
    """`pid` is a live supervisord of `conf` (a stale pid file may name any process)."""
    if not _alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    args = [os.fsdecode(arg) for arg in argv if arg]
    if not any("supervisord" in os.path.basename(arg) for arg in args):
        return False
    # It runs in %(here)s, so an older relative -c path resolves there too.
    return any(os.path.abspath(os.path.join(cwd, arg)) == str(conf) for arg in args)


def _wait_supervisord_gone(conf: Path) -> bool:
    """Wait for a supervisord of `conf` that no longer answers (one shutting down) to exit;
    False, said in one sentence, if it is still there after STOP_WAIT_S."""
    pid = _supervisord_pid(conf)
    if not _alive_supervisord(pid, conf):
        return True
    print(f"Waiting up to {STOP_WAIT_S} s for supervisord (pid {pid}) to stop…", flush=True)
    if _wait_for(lambda: not _alive_supervisord(pid, conf), STOP_WAIT_S):
        return True
    print(
        f"exmado: supervisord (pid {pid}) runs but does not answer and did not stop; "
        f"see {conf.parent / '.run' / 'supervisord.log'}, stop it (kill {pid}) and retry.",
        file=sys.stderr,
    )
    return False


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


def _stop_leftovers(conf: Path, ctx: Context) -> int:
    """Stop the leftovers of a killed supervisord; how many there were."""
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
    return len(programs) + len(redis)


def _wait_for(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def down_command(args: argparse.Namespace, ctx: Context) -> int:
    conf = _absolute(args.supervisor_conf)
    if not supervisord_running(conf):
        if not _wait_supervisord_gone(conf):  # a `down` already under way
            return 1
        stopped = _stop_leftovers(conf, ctx)
        if stopped:
            noun = "process" if stopped == 1 else "processes"
            print(f"Stopped {stopped} {noun} a killed supervisord left running.")
        else:
            print("Nothing runs: supervisord is not running.")
        return 0
    pid = _running_pid(conf)
    if not _alive_supervisord(pid, conf):
        print(
            "exmado: supervisord answers but its pid is unknown, so `down` could not tell "
            f"when it stopped; stop it with `supervisorctl -c {conf} shutdown`.",
            file=sys.stderr,
        )
        return 1
    print("Stopping (a running job is queued again at its next row)…", flush=True)
    # returns at once; supervisord stops its programs after
    shutdown = supervisorctl(conf, "shutdown")
    if shutdown.returncode != 0:
        answer = (shutdown.stderr or shutdown.stdout).strip()
        print(f"exmado: supervisorctl shutdown failed: {answer}", file=sys.stderr)
        return 1
    if not _wait_gone([pid], STOP_WAIT_S):
        print(f"exmado: supervisord (pid {pid}) is still stopping; see .run/supervisord.log.")
        return 1
    print("Stopped the workers, the drop folder and the bundled Redis (if it ran).")
    return 0


def status_command(args: argparse.Namespace, ctx: Context) -> int:
    conf = _absolute(args.supervisor_conf)
    if not supervisord_running(conf):
        print("supervisord is not running; start everything with `exmado up`.")
        return 1
    print(supervisorctl(conf, "status").stdout.rstrip())
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
    private_folder(folder)
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
