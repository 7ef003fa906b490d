"""`exmado watch`: run the drop folder until stopped (supervisord runs this)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from exmado_tui.actor import Door
from exmado_tui.commands.context import Context


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = subparsers.add_parser("watch", help="turn workbooks dropped into a folder into jobs")
    watch.set_defaults(handler=watch_command)


def watch_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.dropfolder import LOGGER, DropFolder
    from exmado_tui.quiet_logs import quiet_repeats
    from exmado_tui.stack_health import announce_ready
    from exmado_tui.supervision import run_dir

    ctx.door = Door.DROP_FOLDER
    folder = DropFolder(ctx.settings.dropfolder, ctx.service)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    folder.prepare()
    print(
        f"Watching {folder.root} — drop workbooks into its profile folders "
        f"({', '.join(folder.profiles)}).",
        flush=True,
    )
    announce_ready(run_dir(ctx.settings))
    # One line per file accepted, rejected or skipped, whatever the services' log level; a
    # repeated one (Redis away: "waits to be queued") once a minute, not at every tick.
    logger = logging.getLogger(LOGGER)
    level, undo = logger.level, quiet_repeats()
    logger.setLevel(logging.INFO)
    try:
        folder.watch(stop)
    finally:
        logger.setLevel(level)
        undo()
    return 0
