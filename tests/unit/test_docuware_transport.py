"""The transport's lighter pool bookkeeping makes httpcore's own decisions."""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Any

import httpcore
import httpx
from httpcore._async.connection_pool import AsyncPoolRequest

from exmado_tui.docuware.transport import LinearPool

ORIGINS = [b"http://a:80", b"http://b:80"]


class FakeConnection:
    """A connection in a chosen state; `new` ones are what the pool created itself."""

    ids = itertools.count()

    def __init__(self, origin: bytes, state: str, new: bool = False) -> None:
        self.id, self.origin, self.state, self.new = next(self.ids), origin, state, new

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return self.origin == bytes(origin.scheme + b"://" + origin.host + b":80")

    def is_available(self) -> bool:
        return self.state == "idle"

    def is_idle(self) -> bool:
        return self.state == "idle"

    def is_closed(self) -> bool:
        return self.state == "closed"

    def has_expired(self) -> bool:
        return self.state == "expired"


def decide(
    pool_class: type, connections: list[FakeConnection], origins: list[bytes], **limits: Any
) -> tuple[list[Any], list[int], list[Any]]:
    """Run one assignment; (pool ids, closing ids, assigned id per request)."""

    async def run() -> tuple[list[Any], list[int], list[Any]]:
        pool = pool_class(**limits)
        pool.create_connection = lambda origin: FakeConnection(  # type: ignore[method-assign]
            bytes(origin.scheme + b"://" + origin.host + b":80"), "new", new=True
        )
        pool._connections = list(connections)
        pool._requests = [
            AsyncPoolRequest(httpcore.Request("GET", origin.decode() + "/x")) for origin in origins
        ]
        closing = pool._assign_requests_to_connections()
        ids = [c.id if not c.new else ("new", c.origin) for c in pool._connections]
        assigned = [
            None if r.connection is None
            else r.connection.id if not r.connection.new else ("new", r.connection.origin)
            for r in pool._requests
        ]  # fmt: skip
        return ids, [c.id for c in closing], assigned

    return asyncio.run(run())


def test_linear_pool_decides_as_httpcore_does() -> None:
    rng = random.Random(7)
    states = ["idle", "active", "closed", "expired"]
    for _ in range(300):
        connections = [
            FakeConnection(rng.choice(ORIGINS), rng.choice(states))
            for _ in range(rng.randint(0, 8))
        ]
        origins = [rng.choice(ORIGINS) for _ in range(rng.randint(0, 5))]
        limits = {"max_connections": rng.randint(1, 8)}
        limits["max_keepalive_connections"] = rng.randint(0, limits["max_connections"])
        theirs = decide(httpcore.AsyncConnectionPool, connections, origins, **limits)
        ours = decide(LinearPool, connections, origins, **limits)
        assert ours == theirs, (connections, origins, limits)


def test_cookies_are_still_kept_from_the_responses_that_set_them() -> None:
    from exmado_tui.docuware.connection import build_http
    from exmado_tui.settings import DocuWareSettings

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/logon":
            return httpx.Response(200, headers={"Set-Cookie": "session=s1; Path=/"})
        return httpx.Response(200, json={"cookie": request.headers.get("Cookie", "")})

    async def run() -> list[str]:
        settings = DocuWareSettings(url="http://dw.test")
        async with build_http(settings, httpx.MockTransport(server)) as http:
            before = (await http.get("/x")).json()["cookie"]
            await http.post("/logon")
            after = (await http.get("/x")).json()["cookie"]
            return [before, after, http.cookies.get("session")]

    assert asyncio.run(run()) == ["", "session=s1", "s1"]
