"""The sandbox HTTP server and what each request runs through: ThreadingHTTPServer, HTTP/1.1
keep-alive, start/stop (or a with-block); the route table and the request pipeline (latency,
throttling, injected errors, who is asking, the handler).

One daemon thread per connection; the injected latency is a sleep in that thread, so it never
blocks other requests. Loopback only unless another host is configured.

Measured with tests/benchmarks/bench_sandbox.py (20,000 invoices, server in its own process,
httpx.AsyncClient per client, loopback, a 2-core VM shared with other work, load average ~4):

    workload  latency   1 client  16 clients  ratio   32 clients  ratio   server CPU/request
    search      0 ms     142/s      285/s     2.0x      -                  0.9 ms
    download    0 ms     183/s      363/s     2.0x      -                  0.9 ms
    search     50 ms      17/s      220/s    12.6x     391/s     21.4x     0.8-0.9 ms
    download   50 ms      18/s      231/s    13.2x     405/s     22.4x     1.0-1.2 ms

The server spends ~1 ms of CPU per request (so ~1,000 requests/s per core before it would be
the bottleneck); at these rates the clients and the shared machine are the limit, not the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from exmado_tui.sandbox import api_documents, api_search, auth
from exmado_tui.sandbox.auth import Clock
from exmado_tui.sandbox.config import Faults, SandboxConfig
from exmado_tui.sandbox.data import Catalogue
from exmado_tui.sandbox.search import SearchError
from exmado_tui.sandbox.state import State, Stats, get_faults, get_stats, reset_stats, set_faults
from exmado_tui.sandbox.wire import (
    IDENTITY,
    PLATFORM,
    HttpError,
    Request,
    Response,
    error_response,
)

log = logging.getLogger(__name__)
LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
Handler = Callable[[State, Request], Response]
FC = PLATFORM + "/FileCabinets/{fc}"
PER_MINUTE_LOGON = frozenset({"Token", "Logon"})
PER_MINUTE_CABINETS = frozenset({"FileCabinets", "FileCabinet"})


@dataclass(frozen=True)
class Route:
    """One endpoint: method, path pattern, stats name, handler and whether it needs auth."""

    method: str
    pattern: str
    name: str
    handler: Handler
    auth: bool = True
    admin: bool = False

    @property
    def regex(self) -> re.Pattern[str]:
        """The pattern as a case-insensitive regex with named groups."""
        return _compile(self.pattern)


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    if pattern not in _COMPILED:
        body = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern))
        _COMPILED[pattern] = re.compile(body + "/?", re.IGNORECASE)
    return _COMPILED[pattern]


ROUTES = (
    Route("GET", PLATFORM, "ServiceDescription", auth.service_description, auth=False),
    Route(
        "GET",
        PLATFORM + "/Home/IdentityServiceInfo",
        "IdentityServiceInfo",
        auth.identity_service_info,
        auth=False,
    ),
    Route(
        "GET",
        IDENTITY + "/.well-known/openid-configuration",
        "OpenIdConfiguration",
        auth.openid_configuration,
        auth=False,
    ),
    Route("POST", IDENTITY + "/connect/token", "Token", auth.token, auth=False),
    Route("POST", PLATFORM + "/Account/Logon", "Logon", auth.logon, auth=False),
    Route("GET", PLATFORM + "/Account/Logoff", "Logoff", auth.logoff, auth=False),
    Route("GET", PLATFORM + "/Organizations", "Organizations", api_search.organizations),
    Route("GET", PLATFORM + "/Organizations/{org}", "Organization", api_search.organization),
    Route("GET", PLATFORM + "/FileCabinets", "FileCabinets", api_search.file_cabinets),
    Route("GET", FC, "FileCabinet", api_search.file_cabinet),
    Route("GET", FC + "/Dialogs", "Dialogs", api_search.dialogs),
    Route("GET", FC + "/Dialogs/{dialog}", "Dialog", api_search.dialog),
    Route("POST", FC + "/Query/DialogExpression", "DialogExpression", api_search.dialog_expression),
    Route(
        "POST",
        FC + "/Query/DialogExpressionLink",
        "DialogExpressionLink",
        api_search.dialog_expression_link,
    ),
    Route("GET", FC + "/Query/Results/{token}", "Results", api_search.results),
    Route("GET", FC + "/Query/CountExpression", "CountExpression", api_search.count_expression),
    Route("POST", FC + "/Query/CountExpression", "CountExpression", api_search.count_expression),
    Route("GET", FC + "/Documents", "Documents", api_search.documents),
    Route("GET", FC + "/Documents/{doc}", "Document", api_documents.document),
    Route("DELETE", FC + "/Documents/{doc}", "DeleteDocument", api_documents.delete_document),
    Route("GET", FC + "/Documents/{doc}/Fields", "Fields", api_documents.fields),
    Route("PUT", FC + "/Documents/{doc}/Fields", "UpdateFields", api_documents.update_fields),
    Route("GET", FC + "/Documents/{doc}/FileDownload", "FileDownload", api_documents.file_download),
    Route(
        "POST", FC + "/Documents/{doc}/FileDownload", "FileDownload", api_documents.file_download
    ),
    Route("GET", FC + "/Sections", "Sections", api_documents.sections),
    Route("GET", FC + "/Sections/{sid}", "Section", api_documents.section),
    Route("GET", FC + "/Sections/{sid}/Data", "SectionData", api_documents.section_data),
    Route("GET", "/_sandbox/faults", "AdminFaults", get_faults, False, True),
    Route("POST", "/_sandbox/faults", "AdminFaults", set_faults, False, True),
    Route("GET", "/_sandbox/stats", "AdminStats", get_stats, False, True),
    Route("DELETE", "/_sandbox/stats", "AdminStats", reset_stats, False, True),
    Route("POST", "/_sandbox/documents", "AdminDocuments", api_documents.add_document, False, True),
)


DOWNLOADS = frozenset({"FileDownload", "SectionData"})


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path parameters, path exists with another method)."""
    other_method = False
    for route in ROUTES:
        found = route.regex.fullmatch(path)
        if found:
            if route.method == method:
                return route, found.groupdict(), False
            other_method = True
    return None, {}, other_method


def handle(state: State, req: Request) -> Response:
    """Run one request through faults, auth and its handler; never raises."""
    route, req.params, other_method = match(req.method, req.path)
    if route is None:
        status = 405 if other_method else 404
        state.stats.record("(unmatched)", status)
        return error_response(req, status, f"No resource {req.method} {req.path}.")
    response = _guarded(state, route, req)
    if not route.admin:
        state.stats.record(route.name, response.status)
    return response


def _guarded(state: State, route: Route, req: Request) -> Response:
    if not route.admin:
        early = _faults(state, req, route.name)
        if early is not None:
            return early
        if route.auth and req.user is None:
            return auth.unauthorized(req)
    try:
        return _broken_off(state, route, route.handler(state, req))
    except HttpError as exc:
        return error_response(req, exc.status, exc.message, exc.headers, exc.internal_code)
    except SearchError as exc:
        return error_response(req, 422, str(exc))
    except Exception as exc:  # a bug in the sandbox: answer like the Platform would
        log.exception("sandbox handler failed for %s %s", req.method, req.target)
        return error_response(req, 500, f"Internal server error: {exc}")


def _broken_off(state: State, route: Route, response: Response) -> Response:
    """A file body marked to be cut or cut short, at the faults' rates."""
    if route.name in DOWNLOADS and response.status == 200 and len(response.body) > 1:
        if state.errors.chance(state.faults.now.cut_rate):
            response.break_off = "cut"
        elif state.errors.chance(state.faults.now.short_rate):
            response.break_off = "short"
    return response


def _faults(state: State, req: Request, name: str) -> Response | None:
    faults = state.faults.now
    if faults.latency_ms > 0:
        time.sleep(faults.latency_ms / 1000)
    if state.errors.chance(faults.spike_rate):
        time.sleep(faults.spike_ms / 1000)
    req.user = auth.identify(state, req)
    if state.errors.chance(faults.throttle_rate) or not _within_limits(state, req, name):
        time.sleep(faults.throttle_delay_ms / 1000)  # DocuWare holds a throttled request ~10 s
        return error_response(
            req,
            429,
            "Too many requests. The request was not executed; "
            "retry after the time given in Retry-After.",
            [("Retry-After", "1")],
        )
    status = state.errors.pick(faults.error_rate)
    if status is not None:
        return error_response(req, status, f"Injected sandbox fault ({status}).")
    return None


def _within_limits(state: State, req: Request, name: str) -> bool:
    """Cloud's limits: requests a second per user, logons a minute, cabinet lists a minute."""
    faults, who = state.faults.now, req.user or f"anonymous:{req.client}"
    if name in PER_MINUTE_LOGON and not state.throttle.allow("logon", faults.logons_per_min, 60.0):
        return False
    if name in PER_MINUTE_CABINETS and not state.throttle.allow(
        f"cabinets:{who}", faults.cabinets_per_min, 60.0
    ):
        return False
    return state.throttle.allow(who, faults.throttle_rps)


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP/1.1 requests into Request values and writes Responses back."""

    protocol_version = "HTTP/1.1"
    server_version = "DocuWareSandbox/1.0"
    disable_nagle_algorithm = True
    timeout = 120
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def _serve(self) -> None:
        request = self._request()
        if request is None:
            return
        self._write(handle(self.server.state, request), self.command == "HEAD")

    def _request(self) -> Request | None:
        try:
            body = self._body()
        except ValueError:
            self.send_error(400, "Bad request body")
            return None
        headers = self.headers.items()
        return Request.parse(self.command, self.path, headers, body, self.client_address[0])

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _chunked_body(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: Response, head_only: bool) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if head_only:
            return
        if response.break_off:
            self._break_off(response)
            return
        self.wfile.write(response.body)

    def _break_off(self, response: Response) -> None:
        """Half the body, then the connection reset ("cut") or closed early ("short")."""
        self.wfile.write(response.body[: len(response.body) // 2])
        self.wfile.flush()
        self.close_connection = True
        if response.break_off == "cut":  # RST instead of FIN: what a dropped link looks like
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
            self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its sandbox state and can close open connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], state: State):
        self.state = state
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (one gave up on a held, throttled request) is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Cut every keep-alive connection, so a stopped sandbox really stops answering."""
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """A DocuWare-compatible server: start() in a background thread, stop() to end it.

    `clock` (`time.time` unless given) is what its tokens and sessions expire by: a test that
    runs the server on a thread of its own process moves a fake one instead of waiting.
    """

    def __init__(self, config: SandboxConfig | None = None, clock: Clock = time.time):
        self.config = config or SandboxConfig()
        self.state = State.build(self.config, clock)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def faults(self) -> Faults:
        """Runtime-switchable faults: `faults.now` (latency_ms, error_rate, throttle_rps, …)."""
        return self.state.faults

    @property
    def stats(self) -> Stats:
        """Request counters (per endpoint, status, downloaded document)."""
        return self.state.stats

    @property
    def catalogue(self) -> Catalogue:
        """The seeded data this server serves."""
        return self.state.catalogue

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        if self._httpd is None:
            raise RuntimeError("the sandbox is not running")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8765 (the Platform is below /DocuWare/Platform)."""
        host = self.config.host
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        return f"http://{f'[{shown}]' if ':' in shown else shown}:{self.port}"

    @property
    def platform_url(self) -> str:
        """The Platform base, url + /DocuWare/Platform."""
        return self.url + "/DocuWare/Platform"

    def start(self) -> str:
        """Bind, serve in a daemon thread and return the base URL."""
        if self._httpd is not None:
            return self.url
        self._httpd = _HTTPServer((self.config.host, self.config.port), self.state)
        # Started again after stop(), it comes back where its clients expect it (a DocuWare
        # that was down for a while), with its data, sessions and faults as they were.
        self.config = dataclasses.replace(self.config, port=self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        """Serve in the calling thread until stop() or KeyboardInterrupt."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop accepting, cut open connections and release the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
