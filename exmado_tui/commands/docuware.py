"""`exmado docuware …`: mounts the DocuWare probe commands on the main CLI."""

from __future__ import annotations

import argparse

from exmado_tui.commands.context import Context
from exmado_tui.docuware import cli as docuware_cli


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    docuware_cli.register(subparsers).set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    return docuware_cli.run(args, ctx.settings)
