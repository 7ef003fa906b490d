"""Authentication endpoints: identity discovery, OAuth token, cookie logon/logoff."""

from __future__ import annotations

from exmado_tui.sandbox import views
from exmado_tui.sandbox.auth import AUTH_COOKIE, BROWSER_COOKIE, GrantError
from exmado_tui.sandbox.state import State
from exmado_tui.sandbox.wire import IDENTITY, PLATFORM, HttpError, Request, Response, json_response

GONE_MESSAGE = (
    "This method is no longer supported. Use Identity Service to authenticate "
    "(see https://developer.docuware.com/rest/documentation.html)."
)


def base_url(req: Request) -> str:
    """The absolute origin the client used, from the Host header."""
    return f"http://{req.headers.get('host', '127.0.0.1')}"


def service_description(state: State, req: Request) -> Response:
    """GET /DocuWare/Platform (anonymous)."""
    return json_response(views.service_description(state.config))


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
    return json_response(views.service_description(state.config), headers=cookies)


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
