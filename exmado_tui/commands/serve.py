"""`exmado serve`: the dashboard in a browser on this machine, through textual-serve.

Each browser tab runs its own `exmado` dashboard process. The server binds 127.0.0.1 only:
reach it from elsewhere through an SSH tunnel (`ssh -L 8000:127.0.0.1:8000 host`).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from exmado_tui.commands.context import Context

HOST = "127.0.0.1"


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="serve the dashboard to a browser on localhost")
    serve.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    serve.set_defaults(handler=serve_command)


def dashboard_command(args: argparse.Namespace) -> str:
    """The command each browser session runs: this Python, this config, the dashboard."""
    parts = [sys.executable, "-m", "exmado_tui.cli"]
    if getattr(args, "config", None):
        parts += ["--config", args.config]
    if args.readonly:
        parts.append("--readonly")
    return shlex.join(parts)


def serve_command(args: argparse.Namespace, ctx: Context) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        print(
            "exmado: `exmado serve` needs textual-serve: pip install textual-serve", file=sys.stderr
        )
        return 1
    ctx.open_store()  # fail here, with a clear message, rather than in every browser tab
    print(f"Serving the dashboard on http://{HOST}:{args.port}/ (Ctrl+C stops).")
    Server(dashboard_command(args), host=HOST, port=args.port, title="Éxmado").serve()
    return 0
