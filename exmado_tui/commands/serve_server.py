"""textual-serve's `Server` behind the gate: the token, the origin and a limit on sessions.

Only textual-serve's public methods are overridden (`handle_index`, `handle_websocket`,
`handle_download`, `on_startup`, `initialize_logging`), each checking first and then handing
the request to textual-serve's own; its routes and process handling stay its own. The one
route added, `POST /upload`, is added in `on_startup`, before aiohttp freezes the router.
"""

from __future__ import annotations

import asyncio
import html
import logging
from pathlib import Path
from typing import Any

from aiohttp import web
from textual_serve.server import Server

from exmado_tui.commands.serve_gate import TOKEN_PARAM, Gate
from exmado_tui.commands.serve_upload import UploadRefused, Uploads, receive_workbook

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
