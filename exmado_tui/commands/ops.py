"""`exmado up | down | status`: the background services, run by supervisord; `exmado logs
[PROGRAM] [-f]`: what those programs logged; and `exmado redis` with what `exmado up` asks of
the broker first (does it answer with the configured password, and which password the bundled
Redis starts with).

How supervisord is configured and found lives in `exmado_tui.services.supervision`, with the
processes seen through /proc. This module says what happens, in sentences.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from exmado_tui.commands.context import Context
from exmado_tui.config.settings import Secret, Settings, mask_url
from exmado_tui.files import private_folder
from exmado_tui.services import supervision
from exmado_tui.services.localredis import (
    LOOPBACK,
    ensure_password,
    protected_conf,
    redis_server_binary,
    url_password,
)
from exmado_tui.services.supervision import (
    PROGRAMS,
    ProgramState,
    Stack,
    first_error,
    this_run,
)

# Longer than the worker's stopwaitsecs (90) plus the drop folder's and Redis's.
STOP_WAIT_S = 120
# Longer than supervisord takes to give up on a program that exits at once (startretries).
UP_WAIT_S = 60
LOG_BLOCK = 8192  # a log's end is read a block at a time
FOLLOW_POLL_S = 0.5


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
    running = stack.answers()
    # A supervisord still shutting down, or the programs a killed one left behind, would
    # block the socket, hold the Redis port or run twice beside the new ones.
    if not running and not _wait_supervisord_gone(stack):
        return 1
    if not running:
        _stop_leftovers(stack)
    answer = probe(ctx.settings)
    if answer is Answer.REFUSED:
        print(f"exmado: {refusal(ctx.settings)}", file=sys.stderr)
        return 1
    bundled = answer is Answer.ABSENT and urlsplit(ctx.settings.broker.url).hostname in LOOPBACK
    # Before supervisord starts: its programs read the password when they start.
    settings = with_bundled_password(ctx.settings) if bundled else ctx.settings
    if not running:
        started = stack.start(args.config)
        if started.returncode != 0:
            print(f"exmado: supervisord did not start: {started.stderr.strip()}", file=sys.stderr)
            return 1
    from exmado_tui.services.queue import JobQueue

    queue = JobQueue.from_settings(settings.broker)
    if bundled and not queue.ping():
        stack.ctl("start", "redis")
        supervision.wait_for(queue.ping, 10)
    supervision.wait_for(lambda: _decided(stack), UP_WAIT_S)
    return _report(stack, settings, explain=True)


def _decided(stack: Stack) -> bool:
    """Every program runs or has failed: given up on by supervisord, or stopped with one of
    our sentences (a wrong setting, which trying again will not mend)."""
    programs = stack.programs()
    return bool(programs) and all(
        p.settled or first_error(stack.log(p.name)).startswith("exmado: ") for p in programs
    )


def _wait_supervisord_gone(stack: Stack) -> bool:
    """Wait for a supervisord of this stack that no longer answers (one shutting down) to
    exit; False, said in one sentence, if it is still there after STOP_WAIT_S."""
    pid = stack.recorded_pid()
    if not stack.is_supervisord(pid):
        return True
    print(f"Waiting up to {STOP_WAIT_S} s for supervisord (pid {pid}) to stop…", flush=True)
    if supervision.wait_for(lambda: not stack.is_supervisord(pid), STOP_WAIT_S):
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
        supervision.terminate(pids, STOP_WAIT_S)
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
    _warn_if_redis_is_shared(stack, ctx.settings)
    print("Stopping (a running job is queued again at its next row)…", flush=True)
    # returns at once; supervisord stops its programs after
    shutdown = stack.ctl("shutdown")
    if shutdown.returncode != 0:
        answer = (shutdown.stderr or shutdown.stdout).strip()
        print(f"exmado: supervisorctl shutdown failed: {answer}", file=sys.stderr)
        return 1
    if not supervision.wait_gone([pid], STOP_WAIT_S):
        print(f"exmado: supervisord (pid {pid}) is still stopping; see {stack.log('supervisord')}.")
        return 1
    print("Stopped the workers, the drop folder and the bundled Redis (if it ran).")
    return 0


def _warn_if_redis_is_shared(stack: Stack, settings: Settings) -> None:
    """Say so when the bundled Redis `down` is about to stop also serves workers this stack
    did not start (another data folder's `exmado up` on this machine, or `exmado worker`)."""
    import redis

    from exmado_tui.services.queue import JobQueue

    if not any(p.name == "redis" and p.running for p in stack.programs()):
        return
    ours = set(supervision.with_environment(f"SUPERVISOR_SERVER_URL=unix://{stack.socket}"))
    try:
        workers = JobQueue.from_settings(settings.broker).alive_workers()
    except redis.RedisError:
        return
    others = [w for w in workers if w.get("pid") not in ours or w.get("host") != settings.host]
    if others:
        hosts = ", ".join(sorted({str(w.get("host")) for w in others}))
        print(
            f"Warning: this stack's Redis also serves {len(others)} worker process(es) it did "
            f"not start (host {hosts}); they have no queue until `exmado up` here starts it "
            "again. Give each host its own Redis, or stop those first.",
            file=sys.stderr,
        )


def status_command(args: argparse.Namespace, ctx: Context) -> int:
    stack = Stack.of(ctx.settings)
    if not stack.answers():
        print("supervisord is not running; start everything with `exmado up`.")
        return 1
    return _report(stack, ctx.settings, explain=False)


def _report(stack: Stack, settings: Settings, *, explain: bool) -> int:
    """Print what runs and whether Redis answers; 0 only when every program runs (a remote
    Redis that is down is said, not failed: the workers wait for it). With `explain`, each
    failed program's first error line and how to see more."""
    from exmado_tui.services.queue import JobQueue

    print(stack.ctl("status").stdout.rstrip())
    programs = stack.programs()
    if ready := [p.name for p in programs if p.running and p.state is ProgramState.STARTING]:
        # supervisord says RUNNING only once `startsecs` are over; they said they are up
        print(f"STARTING and ready ({', '.join(ready)}): up, in their first seconds.")
    reachable = JobQueue.from_settings(settings.broker).ping()
    print(f"Redis at {mask_url(settings.broker.url)}: {_reachable(reachable)}")
    print(f"Logs: {stack.run}")
    failed = [program for program in programs if program.failed]
    for program in failed if explain else ():
        line = first_error(stack.log(program.name)) or "nothing logged"
        print(f"exmado: {program.name} is {program.state}: {line}", file=sys.stderr)
    if failed:
        names = ", ".join(program.name for program in failed)
        print(f"exmado: not running: {names}; see `exmado logs {failed[0].name}`.", file=sys.stderr)
    return 1 if failed else 0


def _reachable(answers: bool) -> str:
    return "reachable" if answers else "NOT reachable"


class Answer(StrEnum):
    """What the broker URL answers a ping with the configured password."""

    ANSWERS = "answers"
    REFUSED = "refused"  # wrong or missing password
    ABSENT = "absent"  # nothing listens


def probe(settings: Settings) -> Answer:
    import redis

    from exmado_tui.services.queue import redis_client

    client = redis_client(settings.broker, connect_timeout_s=2, reply_timeout_s=2, once=True)
    try:
        client.ping()
    except redis.AuthenticationError:
        return Answer.REFUSED
    except redis.ResponseError as exc:  # NOAUTH from a Redis older than redis-py expects
        return Answer.REFUSED if "auth" in str(exc).lower() else Answer.ANSWERS
    except redis.RedisError:
        return Answer.ABSENT
    finally:
        client.close()
    return Answer.ANSWERS


def refusal(settings: Settings) -> str:
    url = mask_url(settings.broker.url)
    if not _configured_password(settings):
        return (
            f"Redis at {url} wants a password: set REDIS_PASSWORD or [broker] password_file "
            "(the bundled Redis of another data folder keeps it in DATA_DIR/redis/password)."
        )
    return f"Redis at {url} refused the password; set REDIS_PASSWORD or [broker] password_file."


def with_bundled_password(settings: Settings) -> Settings:
    """The settings with the bundled Redis's password, made now on its first start, unless
    the settings name one of their own."""
    if _configured_password(settings):
        return settings
    password = Secret(ensure_password(settings.data_dir))
    return replace(settings, broker=replace(settings.broker, password=password))


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
    password = _configured_password(ctx.settings) or ensure_password(ctx.settings.data_dir)
    where = {"port": str(url.port or 6379), "dir": str(folder)}
    conf = protected_conf(folder, password, where | {"pidfile": str(folder / "redis.pid")})
    os.execv(redis_server_binary(), [redis_server_binary(), str(conf)])


def _configured_password(settings: Settings) -> str:
    """The Redis password the settings name: REDIS_PASSWORD, password_file, the bundled one's
    file, or the URL's own."""
    return settings.broker.password.reveal() or url_password(urlsplit(settings.broker.url))


# -- logs ---------------------------------------------------------------------------------


def register_logs(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    logs = subparsers.add_parser("logs", help="what the programs of `exmado up` logged")
    logs.add_argument("program", nargs="?", choices=PROGRAMS, help="one program (default: all)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument(
        "-n", "--lines", type=int, default=20, metavar="N", help="last N lines (default 20)"
    )
    logs.set_defaults(handler=logs_command)


def logs_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.services.supervision import log_file, run_dir

    wanted = [args.program] if args.program else list(PROGRAMS)
    logs = {name: log_file(ctx.settings, name) for name in wanted}
    logs = {name: path for name, path in logs.items() if path.is_file()}
    if not logs:
        print(
            f"exmado: no log of {args.program or 'any program'} in {run_dir(ctx.settings)} "
            "yet; start the stack with `exmado up`.",
            file=sys.stderr,
        )
        return 1
    titled = len(logs) > 1
    # Sizes taken before the tails are printed: a line written meanwhile is followed, not lost.
    offsets = {name: _size(path) for name, path in logs.items()}
    for name, path in logs.items():
        if titled:
            print(f"==> {name} ({path}) <==")
        sys.stdout.write("".join(last_lines(path, max(args.lines, 0))))
    sys.stdout.flush()
    if args.follow:
        follow(logs, offsets, titled)
    return 0


def last_lines(path: Path, count: int) -> list[str]:
    """The last `count` lines of a log, read from its end (a log may be 50 MB), none from
    before this run's mark: an earlier run's lines are not this run's."""
    with path.open("rb") as log:
        position = log.seek(0, 2)
        tail = b""
        while position > 0 and tail.count(b"\n") <= count:
            step = min(LOG_BLOCK, position)
            position -= step
            log.seek(position)
            tail = log.read(step) + tail
    lines = tail.decode(errors="replace").splitlines(keepends=True)
    return this_run(lines[-count:]) if count else []


def follow(logs: dict[str, Path], offsets: dict[str, int], titled: bool) -> None:
    """Print what is appended to the logs past `offsets` until Ctrl+C; a log rotated away is
    read anew."""
    shown = ""
    while True:
        for name, path in logs.items():
            size = _size(path)
            if size < offsets[name]:  # rotated or truncated: start again at its beginning
                offsets[name] = 0
            if size == offsets[name]:
                continue
            with path.open("rb") as log:
                log.seek(offsets[name])
                data = log.read(size - offsets[name])
            offsets[name] = size
            if titled and shown != name:
                print(f"\n==> {name} <==")
                shown = name
            sys.stdout.write(data.decode(errors="replace"))
            sys.stdout.flush()
        time.sleep(FOLLOW_POLL_S)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
