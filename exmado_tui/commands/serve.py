"""`exmado serve`: the dashboard in a browser on this machine, through textual-serve.

Each browser tab runs its own `exmado` dashboard process. The server binds 127.0.0.1 only:
reach it from elsewhere through an SSH tunnel (`ssh -L 8000:127.0.0.1:8000 host`). The page
fetches nothing from other hosts, so it works on a server without internet access.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import tempfile
from pathlib import Path

from exmado_tui.commands.context import Context

HOST = "127.0.0.1"
PAGE = "app_index.html"
# textual-serve's page loads Roboto Mono from Google Fonts; its static/fonts holds the same font.
REMOTE_STYLESHEET = re.compile(r"<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*>")
LOCAL_FONT = """<style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf");
      }
      @font-face {
        font-family: "Roboto Mono";
        font-style: italic;
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf");
      }
    </style>"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def offline_page(page: str) -> str:
    """textual-serve's page template with its stylesheets from other hosts replaced by the
    font it ships."""
    return REMOTE_STYLESHEET.sub(lambda _: LOCAL_FONT, page)


def write_offline_templates(folder: Path) -> Path:
    """A templates folder for `Server(templates_path=...)` holding the offline page."""
    import textual_serve

    source = Path(textual_serve.__file__).parent / "templates" / PAGE
    (folder / PAGE).write_text(offline_page(source.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


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
    with tempfile.TemporaryDirectory(prefix="exmado-serve-") as pages:
        templates = write_offline_templates(Path(pages))
        server = Server(
            dashboard_command(args),
            host=HOST,
            port=args.port,
            title="Éxmado",
            templates_path=templates,
        )
        server.serve()
    return 0
