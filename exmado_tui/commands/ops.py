"""`exmado up | down | status`: the background services, run by supervisord.

How supervisord is configured and found lives in `exmado_tui.supervision`; processes seen
through /proc in `exmado_tui.processes`. This module says what happens, in sentences.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from exmado_tui import processes, resources
from exmado_tui.commands.context import Context
from exmado_tui.folders import private_folder
from exmado_tui.localredis import redis_server_binary
from exmado_tui.supervision import Stack

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Longer than the worker's stopwaitsecs (90) plus the drop folder's and Redis's.
STOP_WAIT_S = 120


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = (
        ("up", "start Redis (if needed), the workers and the drop folder", up_command),
        ("down", "stop everything `exmado up` started", down_command),
        ("status", "what runs under supervisord", status_command),
    )
    for name, summary, handler in commands:
        parser = subparsers.add_parser(name, help=summary)
        parser.set_defaults(handler=handler)
    redis = subparsers.add_parser(
        "redis",
        help="run the bundled redis-server on the broker URL's port (supervisord runs this)",
    )
    redis.set_defaults(handler=redis_command)


def up_command(args: argparse.Namespace, ctx: Context) -> int:
    stack = Stack.of(ctx.settings)
    if not stack.answers():
        # A supervisord still shutting down, or the programs a killed one left behind, would
        # block the socket, hold the Redis port or run twice beside the new ones.
        if not _wait_supervisord_gone(stack):
            return 1
        _stop_leftovers(stack)
        started = stack.start(args.config)
        if started.returncode != 0:
            print(f"exmado: supervisord did not start: {started.stderr.strip()}", file=sys.stderr)
            return 1
    from exmado_tui.queue import JobQueue

    queue = JobQueue.from_settings(ctx.settings.broker)
    if not queue.ping() and urlsplit(ctx.settings.broker.url).hostname in LOOPBACK:
        stack.ctl("start", "redis")
        processes.wait_for(queue.ping, 10)
    return status_command(args, ctx)


def _wait_supervisord_gone(stack: Stack) -> bool:
    """Wait for a supervisord of this stack that no longer answers (one shutting down) to
    exit; False, said in one sentence, if it is still there after STOP_WAIT_S."""
    pid = stack.recorded_pid()
    if not stack.is_supervisord(pid):
        return True
    print(f"Waiting up to {STOP_WAIT_S} s for supervisord (pid {pid}) to stop…", flush=True)
    if processes.wait_for(lambda: not stack.is_supervisord(pid), STOP_WAIT_S):
        return True
    print(
        f"exmado: supervisord (pid {pid}) runs but does not answer and did not stop; "
        f"see {stack.log('supervisord')}, stop it (kill {pid}) and retry.",
        file=sys.stderr,
    )
    return False


def _stop_leftovers(stack: Stack) -> int:
    """Stop the programs a killed supervisord left running, Redis last (the workers queue
    their running jobs in it); how many there were."""
    programs, redis = stack.leftovers()
    count = len(programs) + len(redis)
    if count:
        print(f"Stopping {count} process(es) left by a stopped supervisord.", flush=True)
    for pids in (programs, redis):
        processes.stop(pids, STOP_WAIT_S)
    return count


def down_command(args: argparse.Namespace, ctx: Context) -> int:
    stack = Stack.of(ctx.settings)
    if not stack.answers():
        if not _wait_supervisord_gone(stack):  # a `down` already under way
            return 1
        stopped = _stop_leftovers(stack)
        if stopped:
            noun = "process" if stopped == 1 else "processes"
            print(f"Stopped {stopped} {noun} a killed supervisord left running.")
        else:
            print("Nothing runs: supervisord is not running.")
        return 0
    pid = stack.running_pid()
    if not stack.is_supervisord(pid):
        print(
            "exmado: supervisord answers but its pid is unknown, so `down` could not tell "
            f"when it stopped; stop it with `supervisorctl -c {stack.conf} shutdown`.",
            file=sys.stderr,
        )
        return 1
    print("Stopping (a running job is queued again at its next row)…", flush=True)
    # returns at once; supervisord stops its programs after
    shutdown = stack.ctl("shutdown")
    if shutdown.returncode != 0:
        answer = (shutdown.stderr or shutdown.stdout).strip()
        print(f"exmado: supervisorctl shutdown failed: {answer}", file=sys.stderr)
        return 1
    if not processes.wait_gone([pid], STOP_WAIT_S):
        print(f"exmado: supervisord (pid {pid}) is still stopping; see {stack.log('supervisord')}.")
        return 1
    print("Stopped the workers, the drop folder and the bundled Redis (if it ran).")
    return 0


def status_command(args: argparse.Namespace, ctx: Context) -> int:
    stack = Stack.of(ctx.settings)
    if not stack.answers():
        print("supervisord is not running; start everything with `exmado up`.")
        return 1
    print(stack.ctl("status").stdout.rstrip())
    from exmado_tui.queue import JobQueue

    queue = JobQueue.from_settings(ctx.settings.broker)
    print(f"Redis at {queue.url}: {'reachable' if queue.ping() else 'NOT reachable'}")
    print(f"Logs: {stack.run}")
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
        f"include {_quoted(str(resources.path('config', 'redis.conf')))}",
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
