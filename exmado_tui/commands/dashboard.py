"""The dashboard's doors: `exmado` with no command (and `exmado demo --dashboard`) opens it in
this terminal; `exmado serve` serves it to a browser on this machine (serve.py, imported when
the command runs: `exmado --help` loads neither aiohttp nor textual-serve).
"""

from __future__ import annotations

import argparse
import sys

from exmado_tui.commands.context import Context


def open_dashboard(args: argparse.Namespace, ctx: Context) -> int:
    """The dashboard in this terminal, until the user quits."""
    # Textual is imported here, not at the top: the CLI's other commands start without it.
    from exmado_tui.ui.app import make_app

    ctx.open_store()
    app = make_app(ctx.settings, readonly=args.readonly)
    app.run()
    return app.return_code or 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser("serve", help="serve the dashboard to a browser on localhost")
    serve.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    serve.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace, ctx: Context) -> int:
    try:
        from exmado_tui.commands.serve import serve_dashboard
    except ImportError:
        print(
            "exmado: `exmado serve` needs textual-serve: pip install textual-serve", file=sys.stderr
        )
        return 1
    return serve_dashboard(args, ctx)
