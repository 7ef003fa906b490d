"""`exmado config show`: the effective configuration, secrets masked."""

from __future__ import annotations

import argparse
from typing import Any

from exmado_tui.commands.context import Context, print_json
from exmado_tui.config.settings import masked


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = subparsers.add_parser("config", help="show the effective configuration")
    actions = config.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="print settings (secrets masked)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=show_config)


def show_config(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.schedule.runs import check_schedule

    check_schedule(ctx.settings)  # a [[schedule]] whose profile saves no query: one sentence
    data = masked(ctx.settings)
    if args.json:
        print_json(data)
        return 0
    print(f"# read from: {', '.join(ctx.settings.sources)}")
    _print_table("", data)
    return 0


def _print_table(prefix: str, data: dict[str, Any]) -> None:
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    for key, value in data.items():
        if key not in tables and key != "sources":
            print(f"{prefix}{key} = {value!r}")
    for key, value in tables.items():
        print(f"\n[{prefix}{key}]")
        _print_table("", value)
