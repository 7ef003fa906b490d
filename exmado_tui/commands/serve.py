"""`exmado serve`: the dashboard in a browser on this machine, through textual-serve.

Each browser tab runs its own `exmado` dashboard process, up to [serve] sessions at once. The
server binds 127.0.0.1 only: reach it from elsewhere through an SSH tunnel (`ssh -L
8000:127.0.0.1:8000 host`). The page fetches nothing from other hosts, so it works on a server
without internet access.

Who may use it: a browser that brought the token, on the server's own page. The address
`exmado serve` prints carries the token (`/?token=…`, as Jupyter's does). The first page load
trades it for an HttpOnly, SameSite=Strict cookie, and every later request (the page's
websocket, a download, an upload) must carry that cookie; the websocket and the upload must
also come from the server's own origin, so another site's page open in the same browser cannot
drive the dashboard even if it guessed the port.

Only textual-serve's public methods are overridden (`handle_index`, `handle_websocket`,
`handle_download`, `on_startup`, `initialize_logging`), each checking first and then handing
the request to textual-serve's own; its routes and process handling stay its own. The one
route added, `POST /upload` (serve_upload.py), is added in `on_startup`, before aiohttp freezes
the router. This module loads aiohttp and textual-serve: dashboard.py imports it only when
`exmado serve` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import hmac
import html
import logging
import os
import re
import secrets
import shlex
import socket
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import textual_serve
from aiohttp import web
from textual_serve.server import Server

from exmado_tui.commands.context import Context
from exmado_tui.commands.serve_upload import (
    UploadRefused,
    Uploads,
    receive_workbook,
    with_upload_bar,
)
from exmado_tui.config.settings import Secret
from exmado_tui.errors import SettingsError
from exmado_tui.job.actor import BROWSER_ENV

HOST = "127.0.0.1"
TOKEN_ENV = "EXMADO_SERVE_TOKEN"
TOKEN_PARAM = "token"
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
NO_TOKEN = (
    "This page needs the token of `exmado serve`: open the address it printed when it started"
    " (…/?token=…)."
)
WRONG_TOKEN = (
    "This address's token is not the one `exmado serve` printed: open the address it printed"
    " when it started."
)
FOREIGN = "Only the dashboard's own page may open a session or upload here."
READONLY = "This dashboard is read-only (exmado serve --readonly): it takes no uploads."


def serve_dashboard(args: argparse.Namespace, ctx: Context) -> int:
    """Serve the dashboard until Ctrl+C."""
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
    source = Path(textual_serve.__file__).parent / "templates" / PAGE
    page = offline_page(source.read_text(encoding="utf-8"))
    (folder / PAGE).write_text(with_upload_bar(page) if upload_bar else page, encoding="utf-8")
    return folder


# -- the gate -------------------------------------------------------------------------------


def fresh_token() -> Secret:
    return Secret(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class Gate:
    token: Secret
    host: str
    port: int

    @property
    def origin(self) -> str:
        """The only origin whose pages may open the websocket or upload."""
        return f"http://{self.host}:{self.port}"

    @property
    def cookie(self) -> str:
        """The cookie's name: a browser shares cookies across ports, so each port has its own."""
        return f"exmado-serve-{self.port}"

    def address(self, *, with_token: bool) -> str:
        """The address to open; the token in it only for a terminal, never for a log file."""
        query = f"?{urlencode({TOKEN_PARAM: self.token.reveal()})}" if with_token else ""
        return f"{self.origin}/{query}"

    def admits(self, presented: str | None) -> bool:
        """`presented` is the token; compared in constant time, so timing tells nothing."""
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.token.reveal().encode())

    def signed_in(self, cookies: Mapping[str, str]) -> bool:
        return self.admits(cookies.get(self.cookie))

    def same_origin(self, headers: Mapping[str, str]) -> bool:
        """A browser always sends Origin with a websocket or a form post; a page of another
        site sends its own, which is refused here."""
        return headers.get("Origin") == self.origin


# -- the server -----------------------------------------------------------------------------


class GuardedServer(Server):
    """One `exmado serve`: textual-serve's server, refusing whoever lacks the token."""

    def __init__(
        self,
        command: str,
        gate: Gate,
        sessions: int,
        templates_path: Path,
        uploads: Uploads | None,
        **kw: Any,
    ) -> None:
        super().__init__(
            command,
            host=gate.host,
            port=gate.port,
            title="Éxmado",
            templates_path=templates_path,
            **kw,
        )
        self.gate = gate
        self.limit = sessions
        self.open: set[asyncio.Task[object]] = set()  # one per session, with its dashboard
        self.uploads = uploads

    def initialize_logging(self) -> None:
        super().initialize_logging()
        # aiohttp's access log writes each request line, the token of `/?token=…` with it.
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    async def on_startup(self, app: web.Application) -> None:
        """The upload route joins textual-serve's; its banner, with an address lacking the
        token, is left out: `exmado serve` has said where to go already."""
        app.router.add_post("/upload", self.handle_upload, name="upload")

    async def handle_upload(self, request: web.Request) -> web.Response:
        if not self.gate.signed_in(request.cookies):
            raise refusal(web.HTTPForbidden, NO_TOKEN)
        if not self.gate.same_origin(request.headers):
            raise refusal(web.HTTPForbidden, FOREIGN)
        if self.uploads is None:
            raise refusal(web.HTTPForbidden, READONLY)
        try:
            saved = await receive_workbook(request, self.uploads)
        except UploadRefused as refused:
            return web.Response(status=refused.status, text=str(refused))
        return web.Response(text=f"Uploaded as {saved}: New job (n), then Browse, finds it there.")

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        presented = request.query.get(TOKEN_PARAM)
        if presented is not None:
            return self._sign_in(request, presented)
        if not self.gate.signed_in(request.cookies):
            raise refusal(web.HTTPForbidden, NO_TOKEN)
        if len(self.open) >= self.limit:
            raise refusal(web.HTTPServiceUnavailable, self.full)
        response: web.StreamResponse = await super().handle_index(request)
        return response

    def _sign_in(self, request: web.Request, presented: str) -> web.StreamResponse:
        """The token traded for a cookie, and out of the address bar and the history."""
        if not self.gate.admits(presented):
            raise refusal(web.HTTPForbidden, WRONG_TOKEN)
        url = request.rel_url
        rest = url.with_query([(k, v) for k, v in url.query.items() if k != TOKEN_PARAM])
        response = web.Response(status=303, headers={"Location": str(rest)})
        response.set_cookie(self.gate.cookie, presented, httponly=True, samesite="Strict", path="/")
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self.gate.signed_in(request.cookies):
            raise refusal(web.HTTPForbidden, NO_TOKEN)
        if not self.gate.same_origin(request.headers):
            raise refusal(web.HTTPForbidden, FOREIGN)
        if len(self.open) >= self.limit:
            raise refusal(web.HTTPServiceUnavailable, self.full)
        session = asyncio.current_task()
        assert session is not None  # aiohttp runs each request in a task of its own
        self.open.add(session)  # no await since the check: no other session slips in between
        try:
            return await super().handle_websocket(request)
        finally:
            self.open.discard(session)

    async def on_shutdown(self, app: web.Application) -> None:
        """Ctrl+C: each session ends its dashboard before the loop closes (else asyncio warns
        of child processes it can no longer watch)."""
        for session in self.open:
            session.cancel()
        await asyncio.gather(*self.open, return_exceptions=True)

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        if not self.gate.signed_in(request.cookies):
            raise refusal(web.HTTPForbidden, NO_TOKEN)
        return await super().handle_download(request)

    @property
    def full(self) -> str:
        return (
            f"The dashboard has {self.limit} browser sessions open already, the most"
            " [serve] sessions allows: close one of them (its tab), or raise [serve] sessions"
            " and restart `exmado serve`, then reload this page."
        )


def refusal(kind: type[web.HTTPException], sentence: str) -> web.HTTPException:
    """A short page saying why, in one sentence."""
    body = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Éxmado</title></head>'
        f"<body><p>{html.escape(sentence)}</p></body></html>"
    )
    return kind(text=body, content_type="text/html")
