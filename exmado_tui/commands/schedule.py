"""`exmado schedule list`: each [[schedule]] entry with its last run, what became of it, and
its next run (the watcher, `exmado watch`, makes the runs)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from exmado_tui.commands.context import Context, print_json
from exmado_tui.formatting import local_time

if TYPE_CHECKING:  # the runs load the store and the job service: only when listed
    from exmado_tui.schedule.runs import EntryState

WITH_ZONE = "%Y-%m-%d %H:%M %Z"


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
        print_json([_plain(s) for s in found])
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


def _plain(state: EntryState) -> dict[str, object]:
    entry = state.entry
    return {
        "name": entry.name,
        "profile": entry.profile,
        "every_s": entry.every_s,
        "at": entry.at or None,
        "since_last_run": entry.since_last_run,
        "output": str(entry.output) if entry.output else None,
        "last_run": state.last_run.isoformat() if state.last_run else None,
        "last_job": state.job_id or None,
        "last_outcome": state.outcome or None,
        "claimed_by": state.claimed_by or None,
        "next_run": state.next_run.isoformat(),
    }
