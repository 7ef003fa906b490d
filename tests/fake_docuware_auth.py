"""DocuWare's sign-in endpoints, faked for the client's tests: the Identity Service (OAuth
discovery, token grants), Account/Logon and Logoff (the cookie), and one protected resource
(Organizations) that answers only a valid token or cookie."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import httpx

from exmado_tui.config.settings import DocuWareSettings, Secret
from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.errors import RetryPolicy
from tests.clocks import ManualClock, no_sleep

PASSWORD = "pw-Sekret-42"
SETTINGS = DocuWareSettings(
    url="http://dw.test",
    username="alice",
    password=Secret(PASSWORD),
    organization="Acme",
    auth="oauth",
    max_attempts=3,
)
ORGS = {"Organization": [{"Id": "1", "Name": "Acme", "Links": []}]}


class FakeAuthServer:
    """Identity Service + Account/Logon + one protected resource (Organizations)."""

    def __init__(
        self,
        *,
        identity: bool = True,
        cookie: bool = True,
        refresh: bool = False,
        expires_in: float = 3600,
    ) -> None:
        self.identity, self.cookie = identity, cookie
        self.refresh, self.expires_in = refresh, expires_in
        self.tokens: set[str] = set()
        self.cookies: set[str] = set()
        self.forms: list[dict[str, str]] = []
        self.logons: list[dict[str, str]] = []
        self.logoffs = 0
        self.reject_all = False
        self.count = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/DocuWare/Platform/Home/IdentityServiceInfo":
            if not self.identity:
                return httpx.Response(404, json={"Message": "Not found"})
            return httpx.Response(200, json={"IdentityServiceUrl": "http://id.test/tenant-1"})
        if path == "/tenant-1/.well-known/openid-configuration":
            return httpx.Response(
                200, json={"token_endpoint": "http://id.test/tenant-1/connect/token"}
            )
        if path == "/tenant-1/connect/token":
            return self.token(request)
        if path == "/DocuWare/Platform/Account/Logon":
            return self.logon(request)
        if path == "/DocuWare/Platform/Account/Logoff":
            self.logoffs += 1
            return httpx.Response(200)
        if path == "/DocuWare/Platform/Organizations":
            return self.protected(request)
        return httpx.Response(404, json={"Message": f"No route {path}"})

    def token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.forms.append(form)
        assert len(self.forms) < 10, "the client keeps logging in"
        grant = form.get("grant_type")
        ok = (grant == "password" and form.get("password") == PASSWORD) or (
            grant == "refresh_token" and form.get("refresh_token", "").startswith("r-")
        )
        if not ok:
            return httpx.Response(
                400,
                json={
                    "error": "invalid_grant",
                    "error_description": "invalid_username_or_password",
                },
            )
        self.count += 1
        token = f"tok-{self.count}"
        self.tokens.add(token)
        body = {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        if self.refresh:
            body["refresh_token"] = f"r-{self.count}"
        return httpx.Response(200, json=body)

    def logon(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.logons.append(form)
        if not self.cookie:
            return httpx.Response(410, json={"Message": "This method is no longer supported."})
        if form.get("Password") != PASSWORD:
            return httpx.Response(401, json={"Message": "Invalid user name or password."})
        self.count += 1
        value = f"c-{self.count}"
        self.cookies.add(value)
        return httpx.Response(
            200,
            json={"Links": []},
            headers=[
                ("Set-Cookie", f".DWPLATFORMAUTH={value}; Path=/"),
                ("Set-Cookie", "dwingressplatform=lb1; Path=/"),
            ],
        )

    def protected(self, request: httpx.Request) -> httpx.Response:
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        cookie = request.headers.get("Cookie", "")
        ok = bearer in self.tokens or any(f".DWPLATFORMAUTH={c}" in cookie for c in self.cookies)
        if self.reject_all or not ok:
            return httpx.Response(401, text="<html>login</html>")
        return httpx.Response(200, json=ORGS)


def client_for(
    server: Callable[[httpx.Request], httpx.Response],
    clock: ManualClock | None = None,
    **changes: Any,
) -> AsyncDocuWareClient:
    """A client of `server` (a FakeAuthServer, or any handler) signed in as alice; `changes`
    to its settings; its retries do not wait."""

    async def slow(request: httpx.Request) -> httpx.Response:
        for _ in range(3):  # let other tasks run, as a real network round trip would
            await asyncio.sleep(0)
        return server(request)

    return AsyncDocuWareClient(
        replace(SETTINGS, **changes),
        transport=httpx.MockTransport(slow),
        retry=RetryPolicy(max_attempts=3, backoff_base_s=0.001),
        clock=clock or ManualClock(),
        sleep=no_sleep,
    )
