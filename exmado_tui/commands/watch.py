"""`exmado watch`: run the drop folder until stopped (supervisord runs this), and deliver the
notifications (`notify/delivery.py`) and make the [[schedule]] entries' runs
(`schedule/runs.py`) in threads beside it; and the commands on those two from the shell:
`exmado notify test` (a notice now, to each target) and `exmado schedule list` (each entry's
last and next run).

The watcher is the program `exmado up` runs once per host that does no job's work, so a slow
or absent receiver never holds a job back; a host whose drop folder is elsewhere runs it too.
`notify test` goes straight to the targets, not through the outbox: a test is for now.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from datetime import UTC, datetime

from exmado_tui.commands.context import Context, UsageError, print_json
from exmado_tui.commands.job_views import WITH_ZONE
from exmado_tui.formatting import local_time, quiet_repeats
from exmado_tui.job.actor import Door


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = subparsers.add_parser("watch", help="turn workbooks dropped into a folder into jobs")
    watch.set_defaults(handler=watch_command)

    notify = subparsers.add_parser("notify", help="notifications: send a test")
    actions = notify.add_subparsers(dest="action", required=True)
    test = actions.add_parser("test", help="send a test notice to each [[notify]] target now")
    test.add_argument("--target", metavar="NAME", help="only the [[notify]] entry of that name")
    test.set_defaults(handler=notify_test_command)

    schedule = subparsers.add_parser("schedule", help="the [[schedule]] entries and their runs")
    actions = schedule.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="each entry's last and next run")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=schedule_list_command)


def watch_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.dropfolder.watch import LOGGER, DropFolder
    from exmado_tui.notify.delivery import LOGGER as NOTIFY_LOGGER
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


# -- notify test ----------------------------------------------------------------------------


def notify_test_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.errors import DeliveryError
    from exmado_tui.notify.delivery import send
    from exmado_tui.notify.outbox import body, message_id, test_data
    from exmado_tui.notify.targets import NoticeKind
    from exmado_tui.store.db import utcnow

    settings = ctx.settings.notify
    targets = [t for t in settings.targets if args.target in (None, t.name)]
    if not targets:
        known = ", ".join(t.name for t in settings.targets)
        raise UsageError(
            f"No [[notify]] entry named {args.target!r} (there are: {known})."
            if args.target and known
            else "No [[notify]] entry is configured: add one to your host file (see"
            " [notifications] in config/exmado.toml)."
        )
    notice = body(NoticeKind.TEST, utcnow(), test_data(ctx.settings.host))
    failed = 0
    for target in targets:
        msg_id = message_id()
        try:
            send(target, msg_id, notice, settings.timeout_s)
        except DeliveryError as exc:
            failed += 1
            print(f"✗ {target.name} ({target.kind}): {exc}")
        else:
            print(f"✓ {target.name} ({target.kind}): sent {msg_id}")
    return 1 if failed else 0


# -- schedule list --------------------------------------------------------------------------


def schedule_list_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.schedule.runs import check_schedule, states

    check_schedule(ctx.settings)
    ctx.open_store()
    found = states(ctx.settings, datetime.now(UTC))
    if args.json:
        print_json([state.to_json() for state in found])
        return 0
    if not found:
        print("No [[schedule]] entry is configured (see [[schedule]] in config/exmado.toml).")
    zone = ctx.settings.zone
    for state in found:
        entry = state.entry
        new = ", only what is new" if entry.since_last_run else ""
        print(f"{entry.name}: profile {entry.profile}, {entry.when}{new}")
        print(f"  last run: {local_time(state.last_run, zone, WITH_ZONE)}  {state.outcome}")
        print(f"  next run: {local_time(state.next_run, zone, WITH_ZONE)}")
    return 0
