"""`exmado logs [PROGRAM] [-f]`: what the programs `exmado up` runs under supervisord logged."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from exmado_tui.commands.context import Context
from exmado_tui.services.supervision import PROGRAMS, this_run

BLOCK = 8192
FOLLOW_POLL_S = 0.5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
            step = min(BLOCK, position)
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
