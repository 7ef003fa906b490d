"""The DocuWare client's HTTP/1.1 transport: httpx's requests sent over aiohttp's connections.

httpx stays the client's API (requests, responses, cookies, timeouts, `MockTransport` in
tests); this swaps only what lies under it, through httpx's public `AsyncBaseTransport`. Why:
the worker's event loop thread bounds a job's rate, and httpx's own transport (httpcore, h11
and anyio, all pure Python) costs three times what aiohttp's does, whose parser is C — the
same 2,105 recorded requests of a job, 16 at a time, on one machine in one run: 1.53-1.72 ms
of CPU a row over httpx's transport, 0.48-0.57 ms over this one.

What httpx's transport did and this one keeps: nothing but httpx's headers goes out (aiohttp
adds none of its own), no cookie jar of its own (httpx's is the one that signs in and out),
bodies as they came (`body.py` inflates them, within its bounds), no redirects followed, the
connection limits and keep-alive of `httpx.Limits`, and every failure raised as the
`httpx.TransportError` that says whether the request may have reached the server.

Not the `httpx-aiohttp` package: it maps every aiohttp connection error, a reset after the
request went out as well, to `httpx.ConnectTimeout`, which says the request was never sent
(`errors.NOT_SENT`: sent again even when not idempotent), and its session keeps cookies of its
own beside httpx's, which would send a signed-out session's cookies on.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx
from yarl import URL

# What each aiohttp error is as httpx's; the first that matches, so the narrower come first.
ERRORS: tuple[tuple[type[aiohttp.ClientError], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # no connection in time: not sent
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS: not sent
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),  # a body cut short or garbled
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # an answer that is not HTTP
    (aiohttp.ClientError, httpx.ReadError),  # a reset once sent, and the rest
)
# Set by aiohttp from the body it sends: httpx's would be stale or doubled.
FRAMING = frozenset({"content-length", "transfer-encoding"})
# aiohttp adds these when a request has none; httpx's request says all there is to send.
NOT_ADDED = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")


@contextlib.contextmanager
def httpx_errors() -> Iterator[None]:
    """aiohttp's failures raised as httpx's (see `ERRORS`)."""
    try:
        yield
    except aiohttp.ClientError as exc:
        kind = next(ours for theirs, ours in ERRORS if isinstance(exc, theirs))
        raise kind(str(exc) or type(exc).__name__) from exc


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx's requests over one aiohttp session, made on the loop of the first request."""

    def __init__(self, *, verify: ssl.SSLContext | bool, limits: httpx.Limits) -> None:
        self._verify = verify
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry,
            ssl=self._verify,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=NOT_ADDED,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            self._session = self._open()
        timeout = request.extensions.get("timeout", {})
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in FRAMING]
        body = await request.aread()
        with httpx_errors():
            response = await self._session.request(
                request.method,
                URL(str(request.url), encoded=True),  # as httpx encoded it, not again
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    connect=timeout.get("pool"),  # aiohttp's: the wait for the pool, too
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=Body(response),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode(),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class Body(httpx.AsyncByteStream):
    """An answer's body, as aiohttp receives it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with httpx_errors():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        # Back to the pool when read to its end; aiohttp closes a connection with body left.
        self._response.release()
