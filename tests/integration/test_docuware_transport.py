"""The client's transport (httpx over aiohttp) against a real local server: what goes out, what
comes back, the pool's limit, and each failure as the httpx error that tells a retry whether
the request was sent."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable

import httpx
import pytest

from exmado_tui.config.settings import DocuWareSettings
from exmado_tui.docuware.connection import build_http
from exmado_tui.docuware.errors import NOT_SENT

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A local HTTP/1.1 server: reads each request (kept in `heads`), then `answer` writes."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.heads: list[dict[str, str]] = []
        self.busy = self.peak = 0

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode().split("\r\n")[1:-2]
                headers = {k.lower(): v.strip() for k, v in (x.split(":", 1) for x in lines)}
                self.heads.append(headers)
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.busy += 1
                self.peak = max(self.peak, self.busy)
                try:
                    await self.answer(body, writer)
                finally:
                    self.busy -= 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def ok(body: bytes = b"{}", *headers: str) -> Answer:
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        head = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", *headers, "", ""]
        writer.write("\r\n".join(head).encode() + body)
        await writer.drain()

    return answer


def client(url: str, **settings: float) -> httpx.AsyncClient:
    return build_http(DocuWareSettings(url=url, **settings), None)  # type: ignore[arg-type]


async def test_only_what_httpx_built_goes_out() -> None:
    server = Server(ok())
    async with server as url, client(url) as http:
        built = (await http.post("/x", json={"a": 1})).request.headers
    assert server.heads[0] == {name: value for name, value in built.items()}
    assert server.heads[0]["user-agent"].startswith("exmado/")
    assert server.heads[0]["content-type"] == "application/json"


async def test_a_body_comes_as_it_was_sent_not_inflated() -> None:
    packed = gzip.compress(b"x" * 10_000)
    async with Server(ok(packed, "Content-Encoding: gzip")) as url, client(url) as http:
        response = await http.send(http.build_request("GET", "/x"), stream=True)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
    assert raw == packed


async def test_no_cookie_goes_out_but_httpx_s() -> None:
    server = Server(ok(b"{}", "Set-Cookie: session=s1; Path=/"))
    async with server as url, client(url.replace("127.0.0.1", "localhost")) as http:
        # a name: aiohttp's own jar, were it on, keeps no cookie of an IP address
        await http.get("/logon")
        await http.get("/x")
        http.cookies.clear()  # signed out
        await http.get("/y")
    assert [head.get("cookie") for head in server.heads] == [None, "session=s1", None]


async def test_a_redirect_comes_back_unfollowed() -> None:
    async def moved(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")

    server = Server(moved)
    async with server as url, client(url) as http:
        response = await http.get("/x")
    assert response.status_code == 302 and len(server.heads) == 1


async def test_the_pool_holds_at_most_max_connections() -> None:
    async def slow(_: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        await ok()(b"", writer)

    server = Server(slow)
    async with server as url, client(url, max_connections=7) as http:
        await asyncio.gather(*(http.get(f"/{i}") for i in range(20)))
    assert len(server.heads) == 20 and server.peak == 7


async def _hang_up(_: bytes, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _garble(_: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HELLO THERE\r\n\r\n")
    await writer.drain()


async def _never(_: bytes, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(5)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (_hang_up, httpx.RemoteProtocolError),
        (_garble, httpx.RemoteProtocolError),
        (_never, httpx.ReadTimeout),
    ],
)
async def test_a_failure_once_sent_says_it_may_have_arrived(answer: Answer, error: type) -> None:
    async with Server(answer) as url, client(url, timeout_s=0.3) as http:
        with pytest.raises(error) as raised:
            await http.post("/x", json={})
    assert not isinstance(raised.value, NOT_SENT)


async def test_a_body_cut_short_raises_a_transport_error() -> None:
    async def short(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await writer.drain()
        writer.close()

    async with Server(short) as url, client(url) as http:
        response = await http.send(http.build_request("GET", "/x"), stream=True)
        with pytest.raises(httpx.RemoteProtocolError):
            await response.aread()


async def test_a_server_not_listening_is_a_request_not_sent() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with client(f"http://127.0.0.1:{port}") as http:
        with pytest.raises(httpx.ConnectError) as raised:
            await http.get("/x")
    assert isinstance(raised.value, NOT_SENT)
