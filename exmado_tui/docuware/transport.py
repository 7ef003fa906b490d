"""The HTTP transport under the client: httpx's own, with cheaper connection-pool bookkeeping.

Profiled in `tests/benchmarks/bench_pipeline.py`, most of the client's CPU per request went to
httpcore's pool, not to HTTP:

* httpcore asks `import sniffio` each time it makes an event or shields a cancellation
  (several times a request). When sniffio is not installed (anyio 4 and httpx 0.28 no longer
  need it) every one of those imports fails after a search of the whole `sys.path`; a `None`
  entry in `sys.modules` makes the failure immediate, which is what the import would find.
* before each request and after each response the pool asks every idle connection whether
  the server closed it (`is_readable`); anyio answers by building its whole table of socket
  attributes (with `getpeername` calls) to pick out the raw socket. `_LeanStream` keeps the
  socket it looked up once and polls it directly — the same check, without the table.

* the pool matches queued requests to connections by scanning every connection twice per
  request, and for each idle connection counts all connections again (quadratic in the pool
  size, a few hundred `is_idle` calls a request at 20 connections). `LinearPool` makes the
  same decisions in one pass each.

Everything else (HTTP/1.1, TLS, limits, timeouts, errors) is httpx's and httpcore's.
Environment proxies keep httpx's default transport (see `connection.build_http`).
"""

from __future__ import annotations

import importlib.util
import select
import socket
import ssl
import sys
from typing import Any

import httpcore
import httpx

if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment] # fail `import sniffio` at once


def readable(sock: socket.socket | None) -> bool:
    """Whether a read would return at once (data or the peer's close): httpcore's test."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _LeanStream(httpcore.AsyncNetworkStream):
    """An anyio stream whose raw socket is looked up once, not on every pool check."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _LeanStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "socket":
            return self._socket
        if info == "is_readable":
            return readable(self._socket)
        return self._inner.get_extra_info(info)


class LeanBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, handing out `_LeanStream`s."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _LeanStream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _LeanStream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class LinearPool(httpcore.AsyncConnectionPool):
    """httpcore's connection pool; `_assign_requests_to_connections` without quadratic scans.

    The decisions are httpcore 1.0's, in the same order: drop closed connections, close
    expired ones and idle ones beyond the keep-alive limit (httpcore compares the number of
    connections, not of idle ones, with that limit), then give each queued request the first
    available connection for its origin, else a new one, else one in place of the first idle.
    """

    def _assign_requests_to_connections(self) -> list[Any]:
        closing: list[Any] = []
        pool = self._connections
        for connection in list(pool):
            if connection.is_closed():
                pool.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle() and len(pool) > self._max_keepalive_connections
            ):
                pool.remove(connection)
                closing.append(connection)
        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            chosen = next(
                (c for c in pool if c.can_handle_request(origin) and c.is_available()), None
            )
            if chosen is None and len(pool) >= self._max_connections:
                idle = next((c for c in pool if c.is_idle()), None)
                if idle is None:
                    continue
                pool.remove(idle)
                closing.append(idle)
            if chosen is None:
                chosen = self.create_connection(origin)
                pool.append(chosen)
            pool_request.assign_to_connection(chosen)
        return closing


class PoolTransport(httpx.AsyncHTTPTransport):
    """`httpx.AsyncHTTPTransport` whose connection pool uses `LeanBackend`."""

    def __init__(self, *, verify: ssl.SSLContext | bool, limits: httpx.Limits) -> None:
        context = httpx.create_ssl_context(verify=verify)  # once, shared by both pools
        super().__init__(verify=context, limits=limits)
        self._pool = LinearPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=LeanBackend(),
        )
