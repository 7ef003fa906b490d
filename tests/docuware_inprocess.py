"""The sandbox's own request handler, served in-process through `httpx.MockTransport`.

For tests that need DocuWare without a socket: the same routes, data, auth and faults as the
sandbox over HTTP (`exmado_tui.sandbox.SandboxServer`), so what such a test relies on is what
the server answers — no hand-written fake to drift from it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from exmado_tui.config.settings import DocuWareSettings, Secret
from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.sandbox import Catalogue, Faults, SandboxConfig
from exmado_tui.sandbox.server import handle
from exmado_tui.sandbox.state import State
from exmado_tui.sandbox.wire import Request

URL = "http://sandbox.test"


class InProcessSandbox:
    """A sandbox state and the requests it was sent, reachable through `transport()`."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.state = State.build(config or SandboxConfig(documents=200, seed=7))
        self.requests: list[Request] = []

    @property
    def catalogue(self) -> Catalogue:
        return self.state.catalogue

    @property
    def faults(self) -> Faults:
        return self.state.faults

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode("ascii")
        parsed = Request.parse(
            request.method, target, request.headers.multi_items(), request.read(), "127.0.0.1"
        )
        self.requests.append(parsed)
        answer = handle(self.state, parsed)
        body = b"" if request.method == "HEAD" else answer.body
        headers = [("Content-Type", answer.content_type), *answer.headers]
        return httpx.Response(answer.status, headers=headers, content=body)

    def settings(self, **changes: Any) -> DocuWareSettings:
        """Settings that sign in as the sandbox's demo user."""
        base = DocuWareSettings(url=URL, username="demo", password=Secret("demo"))
        return replace(base, **changes)

    def client(self, **changes: Any) -> AsyncDocuWareClient:
        return AsyncDocuWareClient(self.settings(**changes), transport=self.transport())
