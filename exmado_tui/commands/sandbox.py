"""`exmado sandbox`: run the bundled DocuWare-compatible server for demos and tests."""

from __future__ import annotations

import argparse

from exmado_tui.commands.context import Context
from exmado_tui.sandbox import cli as sandbox_cli


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = subparsers.add_parser(
        "sandbox", help="run a DocuWare-compatible server with seeded demo documents"
    )
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    return sandbox_cli.run(args)
