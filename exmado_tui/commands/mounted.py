"""The command groups whose parser and work live in their own package, mounted on `exmado`:
`exmado docuware …` (the DocuWare probes, docuware/cli.py) and `exmado sandbox` (the bundled
DocuWare-compatible server for demos and tests, sandbox/cli.py)."""

from __future__ import annotations

import argparse

from exmado_tui.commands.context import Context
from exmado_tui.docuware import cli as docuware_cli
from exmado_tui.sandbox import cli as sandbox_cli


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    docuware_cli.register(subparsers).set_defaults(handler=run_docuware)
    sandbox = subparsers.add_parser(
        "sandbox", help="run a DocuWare-compatible server with seeded demo documents"
    )
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(handler=run_sandbox)


def run_docuware(args: argparse.Namespace, ctx: Context) -> int:
    return docuware_cli.run(args, ctx.settings)


def run_sandbox(args: argparse.Namespace, ctx: Context) -> int:
    return sandbox_cli.run(args)
