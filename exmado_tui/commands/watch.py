"""`exmado watch`: run the drop folder until stopped (supervisord runs this), and deliver the
notifications (`notify/delivery.py`) and make the [[schedule]] entries' runs
(`schedule/runs.py`) in threads beside it.

The watcher is the program `exmado up` runs once per host that does no job's work, so a slow
or absent receiver never holds a job back; a host whose drop folder is elsewhere runs it too.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from exmado_tui.commands.context import Context
from exmado_tui.job.actor import Door


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = subparsers.add_parser("watch", help="turn workbooks dropped into a folder into jobs")
    watch.set_defaults(handler=watch_command)


def watch_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.dropfolder.watch import LOGGER, DropFolder
    from exmado_tui.notify.delivery import LOGGER as NOTIFY_LOGGER
    from exmado_tui.quiet_logs import quiet_repeats
    from exmado_tui.schedule.runs import LOGGER as SCHEDULE_LOGGER
    from exmado_tui.schedule.runs import check_schedule
    from exmado_tui.services.supervision import announce_ready, run_dir

    check_schedule(ctx.settings)
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
    # One line per file accepted, rejected or skipped and per notice sent or failed, whatever
    # the services' log level; a repeated one (Redis away: "waits to be queued") once a minute,
    # not at every tick.
    loggers = [logging.getLogger(name) for name in (LOGGER, NOTIFY_LOGGER, SCHEDULE_LOGGER)]
    levels, undo = [logger.level for logger in loggers], quiet_repeats()
    for logger in loggers:
        logger.setLevel(logging.INFO)
    deliverer = _start_deliverer(ctx, stop)
    scheduler = _start_scheduler(ctx, stop)
    try:
        folder.watch(stop)
    finally:
        stop.set()
        deliverer.join(timeout=ctx.settings.notify.timeout_s + 5)
        scheduler.join(timeout=ctx.settings.docuware.timeout_s + 5)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        undo()
    return 0


def _start_deliverer(ctx: Context, stop: threading.Event) -> threading.Thread:
    """The notifications' deliverer (without [[notify]] targets it only forgets old notices)."""
    from exmado_tui.notify.delivery import Deliverer

    settings = ctx.settings.notify
    if settings.targets:
        names = ", ".join(t.name for t in settings.targets)
        print(f"Delivering notifications to {names}.", flush=True)
    thread = threading.Thread(
        target=Deliverer(settings).run, args=(stop,), name="exmado-notify", daemon=True
    )
    thread.start()
    return thread


def _start_scheduler(ctx: Context, stop: threading.Event) -> threading.Thread:
    """The [[schedule]] entries' runs (without entries it looks, and finds none due)."""
    from exmado_tui.schedule.runs import Scheduler

    entries = ctx.settings.schedule
    if entries:
        print(f"Scheduling {', '.join(e.name for e in entries)}.", flush=True)
    thread = threading.Thread(
        target=Scheduler(ctx.settings).run, args=(stop,), name="exmado-schedule", daemon=True
    )
    thread.start()
    return thread
