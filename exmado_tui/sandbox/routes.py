"""The route table and the request pipeline (latency, throttling, errors, auth, handler), and
the sandbox-only admin endpoints: read/switch faults, read/reset request statistics."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from exmado_tui.sandbox import api_auth, api_documents, api_search
from exmado_tui.sandbox.auth import AUTH_COOKIE
from exmado_tui.sandbox.search import SearchError
from exmado_tui.sandbox.state import State
from exmado_tui.sandbox.wire import (
    IDENTITY,
    PLATFORM,
    HttpError,
    Request,
    Response,
    error_response,
    json_response,
)

log = logging.getLogger(__name__)
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


# Sandbox-only admin endpoints: read/switch faults, read/reset request statistics.


def get_faults(state: State, req: Request) -> Response:
    """GET /_sandbox/faults."""
    return json_response(state.faults.snapshot())


def set_faults(state: State, req: Request) -> Response:
    """POST /_sandbox/faults with any of the fields of `FaultSettings`, or expire_tokens: true."""
    body = req.json()
    if not isinstance(body, dict):
        raise HttpError(400, "Expected a JSON object with the faults to change.")
    try:
        return json_response(state.faults.update(**body))
    except (TypeError, ValueError) as exc:
        raise HttpError(400, str(exc)) from exc


def get_stats(state: State, req: Request) -> Response:
    """GET /_sandbox/stats: request counts per endpoint and status, downloads per document."""
    return json_response(state.stats.snapshot())


def reset_stats(state: State, req: Request) -> Response:
    """DELETE /_sandbox/stats."""
    state.stats.reset()
    return json_response(state.stats.snapshot())


ROUTES = (
    Route("GET", PLATFORM, "ServiceDescription", api_auth.service_description, auth=False),
    Route(
        "GET",
        PLATFORM + "/Home/IdentityServiceInfo",
        "IdentityServiceInfo",
        api_auth.identity_service_info,
        auth=False,
    ),
    Route(
        "GET",
        IDENTITY + "/.well-known/openid-configuration",
        "OpenIdConfiguration",
        api_auth.openid_configuration,
        auth=False,
    ),
    Route("POST", IDENTITY + "/connect/token", "Token", api_auth.token, auth=False),
    Route("POST", PLATFORM + "/Account/Logon", "Logon", api_auth.logon, auth=False),
    Route("GET", PLATFORM + "/Account/Logoff", "Logoff", api_auth.logoff, auth=False),
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
            return unauthorized(req)
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
    req.user = identify(state, req)
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


def identify(state: State, req: Request) -> str | None:
    """The user behind a bearer token or session cookie, if valid for this auth mode."""
    header = req.headers.get("authorization", "")
    if header[:7].lower() == "bearer " and state.config.oauth_enabled:
        return state.auth.bearer_user(header[7:].strip())
    session = req.cookies.get(AUTH_COOKIE)
    if session and state.config.cookie_enabled:
        return state.auth.session_user(session)
    return None


def unauthorized(req: Request) -> Response:
    """401: JSON for bearer requests, DocuWare's meta-refresh HTML page otherwise."""
    if req.headers.get("authorization"):
        return error_response(
            req,
            401,
            "The access token is missing, invalid or expired.",
            [("WWW-Authenticate", 'Bearer error="invalid_token"')],
        )
    target = f"{PLATFORM}/LoginRedirect?returnUrl={quote(req.target or req.path, safe='')}"
    html = (
        "<html><head><title>Object moved</title>"
        f'<meta http-equiv="refresh" content="0;url={target}"></head>'
        f'<body><h2>Object moved to <a href="{target}">here</a>.</h2></body></html>'
    )
    return Response(401, html.encode(), "text/html; charset=utf-8")
