"""The dashboard's doors: `exmado` with no command (and `exmado demo --dashboard`) opens it in
this terminal; `exmado serve` serves it to a browser on this machine, through textual-serve.

Under `exmado serve` each browser tab runs its own `exmado` dashboard process, up to [serve]
sessions at once. The server binds 127.0.0.1 only: reach it from elsewhere through an SSH
tunnel (`ssh -L 8000:127.0.0.1:8000 host`). A browser must bring the token of the address
printed at start (serve_gate.py). The page fetches nothing from other hosts, so it works on a
server without internet access.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import shlex
import socket
import sys
import tempfile
from pathlib import Path

from exmado_tui.commands.context import Context
from exmado_tui.commands.serve_gate import Gate, fresh_token
from exmado_tui.config.settings import Secret
from exmado_tui.errors import SettingsError
from exmado_tui.job.actor import BROWSER_ENV

HOST = "127.0.0.1"
TOKEN_ENV = "EXMADO_SERVE_TOKEN"
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


def dashboard_command(args: argparse.Namespace) -> str:
    """The command each browser session runs: this Python, this config, the dashboard (`exec`:
    textual-serve starts it through a shell, which would otherwise stay as a second process)."""
    parts = [sys.executable, "-m", "exmado_tui.cli"]
    if getattr(args, "config", None):
        parts += ["--config", args.config]
    if args.readonly:
        parts.append("--readonly")
    return "exec " + shlex.join(parts)


def offline_page(page: str) -> str:
    """textual-serve's page template with its stylesheets from other hosts replaced by the
    font it ships."""
    return REMOTE_STYLESHEET.sub(lambda _: LOCAL_FONT, page)


def write_offline_templates(folder: Path, *, upload_bar: bool) -> Path:
    """A templates folder for `Server(templates_path=...)` holding the offline page, with the
    bar for uploading a workbook unless the dashboard is read-only."""
    import textual_serve

    from exmado_tui.commands.serve_upload import with_upload_bar

    source = Path(textual_serve.__file__).parent / "templates" / PAGE
    page = offline_page(source.read_text(encoding="utf-8"))
    (folder / PAGE).write_text(with_upload_bar(page) if upload_bar else page, encoding="utf-8")
    return folder


def serve_command(args: argparse.Namespace, ctx: Context) -> int:
    try:
        from exmado_tui.commands.serve_server import GuardedServer
        from exmado_tui.commands.serve_upload import Uploads
    except ImportError:
        print(
            "exmado: `exmado serve` needs textual-serve: pip install textual-serve", file=sys.stderr
        )
        return 1
    ctx.open_store()  # fail here, with a clear message, rather than in every browser tab
    serve = ctx.settings.serve
    gate = Gate(serve_token(serve.token), HOST, args.port)
    check_port_free(args.port)
    # The dashboards started for the browser need no token: keep it out of their environment.
    os.environ.pop(TOKEN_ENV, None)
    os.environ[BROWSER_ENV] = "1"  # and their actions came through a browser
    print(address_line(gate, serve.sessions), flush=True)
    uploads = None if args.readonly else Uploads(ctx.settings.upload_inbox, serve.upload_max_mb)
    with tempfile.TemporaryDirectory(prefix="exmado-serve-") as pages:
        server = GuardedServer(
            dashboard_command(args),
            gate,
            serve.sessions,
            write_offline_templates(Path(pages), upload_bar=uploads is not None),
            uploads,
        )
        server.serve()
    return 0


def serve_token(fixed: Secret) -> Secret:
    """The token set by the owner, else a fresh one, which only a terminal may be shown."""
    if fixed:
        return fixed
    if not sys.stdout.isatty():
        raise SettingsError(
            "`exmado serve` shows a fresh token only on a terminal, and its output goes to a file"
            f" or pipe here: fix the token with {TOKEN_ENV} or [serve] token_file (an owner-only"
            " file)."
        )
    return fresh_token()


def address_line(gate: Gate, sessions: int) -> str:
    """Where to point the browser; the token shows on a terminal only, never in a log file."""
    on_terminal = sys.stdout.isatty()
    address = gate.address(with_token=on_terminal)
    if not on_terminal:
        address += f"?token=<{TOKEN_ENV} or the [serve] token_file's>"
    return (
        f"Serving the dashboard at {address} ({sessions} browser sessions at most; Ctrl+C stops)."
    )


def check_port_free(port: int) -> None:
    """A port in use is one sentence now, not a traceback once the server starts."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            reason = "in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise SettingsError(
                f"Port {port} on {HOST} is {reason}: choose another with --port."
            ) from None
