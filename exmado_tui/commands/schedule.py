"""`exmado schedule list`: each [[schedule]] entry with its last run, what became of it, and
its next run (the watcher, `exmado watch`, makes the runs)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from exmado_tui.commands.context import Context, print_json
from exmado_tui.commands.job_views import WITH_ZONE
from exmado_tui.formatting import local_time


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedule = subparsers.add_parser("schedule", help="the [[schedule]] entries and their runs")
    actions = schedule.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="each entry's last and next run")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)


def list_command(args: argparse.Namespace, ctx: Context) -> int:
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
