"""Signing in: users, OAuth access/refresh tokens and cookie sessions (all in memory), the
endpoints that issue and end them (discovery, token, logon, logoff), and who a request is."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from exmado_tui.sandbox import wire
from exmado_tui.sandbox.config import Faults
from exmado_tui.sandbox.wire import (
    IDENTITY,
    PLATFORM,
    HttpError,
    Request,
    Response,
    error_response,
    json_response,
)

if TYPE_CHECKING:  # the State holds this module's AuthStore; the endpoints only read it
    from exmado_tui.sandbox.state import State

PLATFORM_CLIENT_ID = "docuware.platform.net.client"
PLATFORM_SCOPE = "docuware.platform"
AUTH_COOKIE = ".DWPLATFORMAUTH"
BROWSER_COOKIE = "DWPLATFORMBROWSERID"
GONE_MESSAGE = (
    "This method is no longer supported. Use Identity Service to authenticate "
    "(see https://developer.docuware.com/rest/documentation.html)."
)

Clock = Callable[[], float]  # seconds since the epoch, as `time.time`


class GrantError(Exception):
    """A token request the Identity Service refuses (HTTP 400, OAuth error JSON)."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Grant:
    """What a token or session was issued for."""

    user: str
    expires_at: float
    epoch: int
    family: str = ""


@dataclass(frozen=True)
class TokenSet:
    """A successful token response."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None

    def as_json(self) -> dict[str, object]:
        """The body of the token endpoint's 200 answer."""
        body: dict[str, object] = {
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "token_type": "Bearer",
            "scope": self.scope,
        }
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body


class AuthStore:
    """Checks credentials and issues/validates tokens and cookie sessions.

    `clock` dates what it issues and tells when that expires (the wall clock, which a token's
    `iat` and `exp` claims are in); a test passes a fake one to let a token expire at once.
    """

    def __init__(
        self,
        users: dict[str, str],
        faults: Faults,
        issuer: str = "sandbox",
        clock: Clock = time.time,
    ):
        self.users = dict(users)
        self.faults = faults
        self.issuer = issuer
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._used_refresh: dict[str, str] = {}
        self._revoked_families: set[str] = set()
        self._sessions: dict[str, Grant] = {}

    def check_password(self, user: str, password: str) -> bool:
        """Whether the name/password pair is one of the configured users."""
        expected = self.users.get(user)
        return expected is not None and hmac.compare_digest(expected, password)

    # ---- OAuth ----------------------------------------------------------------------------

    def token_request(self, form: dict[str, str]) -> TokenSet:
        """Handle a POST to connect/token; raises GrantError for any refusal."""
        grant_type = form.get("grant_type", "")
        if grant_type == "password":
            return self._password_grant(form)
        if grant_type == "client_credentials":
            return self._client_credentials(form)
        if grant_type == "refresh_token":
            return self._refresh_grant(form)
        raise GrantError("unsupported_grant_type", f"Grant type '{grant_type}' is not supported.")

    def _password_grant(self, form: dict[str, str]) -> TokenSet:
        if form.get("client_id") != PLATFORM_CLIENT_ID:
            raise GrantError("invalid_client", f"Unknown client '{form.get('client_id', '')}'.")
        scopes = _scopes(form)
        user = form.get("username", "")
        if not self.check_password(user, form.get("password", "")):
            raise GrantError("invalid_grant", "invalid_username_or_password")
        return self._issue(user, scopes, with_refresh="offline_access" in scopes)

    def _client_credentials(self, form: dict[str, str]) -> TokenSet:
        """Sandbox convention: client_id is a user name and client_secret its password."""
        client = form.get("client_id", "")
        if not self.check_password(client, form.get("client_secret", "")):
            raise GrantError("invalid_client", "Client authentication failed.")
        return self._issue(client, _scopes(form), with_refresh=False)

    def _refresh_grant(self, form: dict[str, str]) -> TokenSet:
        token = form.get("refresh_token", "")
        with self._lock:
            grant = self._refresh.pop(token, None)
            if grant is None:
                family = self._used_refresh.get(token)
                if family:  # reuse of a rotated token revokes the whole family
                    self._revoked_families.add(family)
                raise GrantError("invalid_grant", "The refresh token is invalid or was used.")
            self._used_refresh[token] = grant.family
        if not self._valid(grant) or grant.family in self._revoked_families:
            raise GrantError("invalid_grant", "The refresh token has expired or was revoked.")
        scopes = [PLATFORM_SCOPE, "offline_access"]
        return self._issue(grant.user, scopes, with_refresh=True, family=grant.family)

    def _issue(
        self, user: str, scopes: list[str], with_refresh: bool, family: str = ""
    ) -> TokenSet:
        ttl = self.faults.now.token_ttl
        now = self._clock()
        family = family or secrets.token_hex(8)
        grant = Grant(user, now + ttl, self.faults.token_epoch, family)
        access = self._jwt(user, now, ttl, " ".join(scopes))
        refresh = secrets.token_urlsafe(32) if with_refresh else None
        with self._lock:
            self._access[access] = grant
            if refresh:
                self._refresh[refresh] = Grant(user, now + 30 * 86400, grant.epoch, family)
        return TokenSet(access, max(1, round(ttl)), " ".join(scopes), refresh)

    def _jwt(self, user: str, now: float, ttl: float, scope: str) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {
            "iss": self.issuer,
            "sub": user,
            "name": user,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + ttl),
            "scope": scope,
            "client_id": PLATFORM_CLIENT_ID,
            "jti": secrets.token_hex(8),
        }
        payload = _b64(json.dumps(claims).encode())
        signature = hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def bearer_user(self, token: str) -> str | None:
        """The user of a valid access token, else None (unknown, expired or revoked)."""
        grant = self._access.get(token)
        if grant is None or not self._valid(grant):
            return None
        return grant.user if grant.family not in self._revoked_families else None

    # ---- cookie sessions --------------------------------------------------------------------

    def logon(self, user: str, password: str) -> str | None:
        """A new session id for valid credentials, else None."""
        if not self.check_password(user, password):
            return None
        session = secrets.token_hex(48).upper()
        with self._lock:
            self._sessions[session] = Grant(user, float("inf"), self.faults.token_epoch)
        return session

    def session_user(self, session: str) -> str | None:
        """The user of a live session cookie, else None."""
        grant = self._sessions.get(session)
        return grant.user if grant is not None and self._valid(grant) else None

    @property
    def open_sessions(self) -> int:
        """Cookie sessions not logged off (each would hold a licence seat in DocuWare)."""
        with self._lock:
            return sum(1 for grant in self._sessions.values() if self._valid(grant))

    def logoff(self, session: str) -> bool:
        """End a session; True if it existed."""
        with self._lock:
            return self._sessions.pop(session, None) is not None

    def _valid(self, grant: Grant) -> bool:
        return grant.epoch == self.faults.token_epoch and self._clock() < grant.expires_at


def _scopes(form: dict[str, str]) -> list[str]:
    scopes = form.get("scope", "").split()
    if PLATFORM_SCOPE not in scopes:
        raise GrantError("invalid_scope", f"The scope must include '{PLATFORM_SCOPE}'.")
    return scopes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# ---- the endpoints, and who a request is ----------------------------------------------


def base_url(req: Request) -> str:
    """The absolute origin the client used, from the Host header."""
    return f"http://{req.headers.get('host', '127.0.0.1')}"


def service_description(state: State, req: Request) -> Response:
    """GET /DocuWare/Platform (anonymous)."""
    return json_response(wire.service_description(state.config))


def identity_service_info(state: State, req: Request) -> Response:
    """GET Home/IdentityServiceInfo (anonymous); absent when only cookies are offered."""
    _require_oauth(state)
    return json_response(
        {"IdentityServiceUrl": base_url(req) + IDENTITY, "RefreshTokenSupported": True}
    )


def openid_configuration(state: State, req: Request) -> Response:
    """GET Identity/.well-known/openid-configuration (anonymous)."""
    _require_oauth(state)
    issuer = base_url(req) + IDENTITY
    connect = f"{issuer}/connect"
    return json_response(
        {
            "issuer": issuer,
            "jwks_uri": f"{issuer}/.well-known/openid-configuration/jwks",
            "authorization_endpoint": f"{connect}/authorize",
            "token_endpoint": f"{connect}/token",
            "userinfo_endpoint": f"{connect}/userinfo",
            "end_session_endpoint": f"{connect}/endsession",
            "revocation_endpoint": f"{connect}/revocation",
            "introspection_endpoint": f"{connect}/introspect",
            "device_authorization_endpoint": f"{connect}/deviceauthorization",
            "windows_auth_endpoint": f"{issuer}/windowsauth",
            "scopes_supported": [
                "openid",
                "profile",
                "dwprofile",
                "docuware.platform",
                "offline_access",
            ],
            "grant_types_supported": [
                "password",
                "client_credentials",
                "refresh_token",
                "authorization_code",
                "dwtoken",
                "trusted",
                "impersonation",
                "delegation",
                "windows",
            ],
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        }
    )


def token(state: State, req: Request) -> Response:
    """POST Identity/connect/token: password, client_credentials and refresh_token grants."""
    _require_oauth(state)
    no_store = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    if "application/x-www-form-urlencoded" not in req.headers.get("content-type", ""):
        return json_response(
            {"error": "invalid_request", "error_description": "Expected a form-encoded body."},
            400,
            no_store,
        )
    try:
        tokens = state.auth.token_request(req.form())
    except GrantError as exc:
        return json_response(
            {"error": exc.error, "error_description": exc.description}, 400, no_store
        )
    req.user = state.auth.bearer_user(tokens.access_token)
    return json_response(tokens.as_json(), headers=no_store)


def logon(state: State, req: Request) -> Response:
    """POST Account/Logon (form); 410 in the 7.11 mode, absent in pure OAuth mode."""
    if state.config.auth == "oauth-only-410":
        raise HttpError(410, GONE_MESSAGE)
    if not state.config.cookie_enabled:
        raise HttpError(404, "The resource Account/Logon does not exist on this server.")
    form = req.form()
    user = form.get("UserName") or form.get("Username") or form.get("userName") or ""
    session = state.auth.logon(user, form.get("Password", ""))
    if session is None:
        raise HttpError(401, "The user name or password is incorrect.")
    req.user = user
    browser = form.get("HostID") or session[:32].lower()
    cookies = [
        ("Set-Cookie", f"{AUTH_COOKIE}={session}; path=/; HttpOnly"),
        ("Set-Cookie", f"{BROWSER_COOKIE}={browser}; path=/; HttpOnly"),
    ]
    return json_response(wire.service_description(state.config), headers=cookies)


def logoff(state: State, req: Request) -> Response:
    """GET Account/Logoff: ends the cookie session (200 even without one)."""
    if state.auth.logoff(req.cookies.get(AUTH_COOKIE, "")):
        state.stats.record_logoff()
    expired = "; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT"
    return json_response({}, headers=[("Set-Cookie", f"{AUTH_COOKIE}={expired}")])


def _require_oauth(state: State) -> None:
    if not state.config.oauth_enabled:
        raise HttpError(
            404,
            "The Identity Service is not available on this server "
            f"(version {state.config.version}); use {PLATFORM}/Account/Logon.",
        )


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
