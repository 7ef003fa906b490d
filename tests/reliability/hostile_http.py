"""A DocuWare that lies: a real HTTP server in front of the sandbox that answers the requests
whose path holds a chosen piece with a hostile body (broken JSON, an HTML login page, a wrong
content type, a gzip bomb, an endless or trickling chunked body) and passes every other request
through unchanged, or rewritten (`rewrite`: links to another server). `Collector` is that other
server: it records whether a request brought credentials."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Headers = list[tuple[str, str]]
Rewrite = Callable[[bytes], bytes]
HOP_HEADERS = {"connection", "transfer-encoding", "content-length", "host", "accept-encoding"}
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    b'<form method="post" action="/adfs/ls/"><input name="UserName"><input type="password" '
    b'name="Password"><button>Sign in</button></form></body></html>'
)


@dataclass(frozen=True)
class Lie:
    """Requests whose path contains `path` get this answer instead of DocuWare's."""

    path: str
    content_type: str
    body: bytes = b""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    chunks: Callable[[], Iterator[bytes]] | None = None  # a chunked body, endless if it is
    pace_s: float = 0.0  # a pause after each chunk


class LocalServer:
    """A server on a free port of 127.0.0.1, in a daemon thread: `answer` takes every request."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.answer(self)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError


class HostileDocuWare(LocalServer):
    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.lie: Lie | None = None
        self.lied = 0  # requests answered with the lie (or rewritten)
        self.rewrite: tuple[str, Rewrite] | None = None  # (path piece, body rewrite)

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        lie = self.lie
        if lie is not None and lie.path in request.path:
            self.lied += 1
            headers = [("Content-Type", lie.content_type), *lie.headers]
            if lie.chunks is None:
                _send(request, lie.status, headers, lie.body)
            else:
                _send_chunked(request, lie, headers)
            return
        status, headers, body = self._forward(request)
        rewrite = self.rewrite
        if rewrite is not None and rewrite[0] in request.path and status == 200:
            self.lied += 1
            body = rewrite[1](body)
        _send(request, status, headers, body)

    def _forward(self, request: BaseHTTPRequestHandler) -> tuple[int, Headers, bytes]:
        length = int(request.headers.get("Content-Length") or 0)
        data = request.rfile.read(length) if length else None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        upstream = urllib.request.Request(
            self.upstream + request.path, data=data, headers=headers, method=request.command
        )
        try:
            with urllib.request.urlopen(upstream, timeout=30) as reply:
                return reply.status, reply.headers.items(), reply.read()
        except urllib.error.HTTPError as reply:
            return reply.code, reply.headers.items(), reply.read()


def _send(request: BaseHTTPRequestHandler, status: int, headers: Headers, body: bytes) -> None:
    request.send_response(status)
    for name, value in headers:  # a list: several Set-Cookie headers stay several
        if name.lower() not in HOP_HEADERS:
            request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def _send_chunked(request: BaseHTTPRequestHandler, lie: Lie, headers: Headers) -> None:
    """The lie's chunks until they end or the client hangs up."""
    assert lie.chunks is not None
    request.protocol_version = "HTTP/1.1"  # chunked needs it; the connection closes after
    request.send_response(lie.status)
    for name, value in [*headers, ("Transfer-Encoding", "chunked"), ("Connection", "close")]:
        request.send_header(name, value)
    request.end_headers()
    try:
        for chunk in filter(None, lie.chunks()):  # an empty chunk would end the body
            request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            request.wfile.flush()
            time.sleep(lie.pace_s)
        request.wfile.write(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client cut it: what the test wants
    request.close_connection = True


class Collector(LocalServer):
    """Another server on another port: records each request and whether it carried
    credentials, and answers every one with a PDF."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, bool]] = []  # (path, had Authorization or Cookie)

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        credentials = "Authorization" in request.headers or "Cookie" in request.headers
        self.requests.append((request.path, credentials))
        _send(request, 200, [("Content-Type", "application/pdf")], b"%PDF collected")
