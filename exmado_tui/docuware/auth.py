"""Signing in: OAuth2 through DocuWare's Identity Service, or the legacy cookie logon.

OAuth2 comes as the password grant (`oauth`, DocuWare's built-in client) or as the
client_credentials grant of an app registration (`client_credentials`, DocuWare 7.11+).

One `Authenticator` per client. Its lock makes concurrent requests that find no valid
credentials wait for a single login; `invalidate(generation)` after a 401 only drops the
credentials that request actually used, so sixteen 401s still cause one new login.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin

import httpx

from exmado_tui.config.settings import PLATFORM, DocuWareSettings, Secret
from exmado_tui.docuware.errors import (
    AuthenticationError,
    DocuWareError,
    NotFoundError,
    UnexpectedResponseError,
)

if TYPE_CHECKING:
    from exmado_tui.docuware.budget import RowPermits

log = logging.getLogger("exmado.docuware")

EARLY_RENEWAL_S = 60.0
NO_IDENTITY_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 501})
TOKEN_MODES = frozenset({"oauth", "client_credentials"})
LOGOFF_S = 5.0
# A session refused after living this long may have ended on its own: sign in again (each
# time within the request's attempts) rather than call the credentials wrong.
EXPIRY_PLAUSIBLE_S = 1.0


class Requester(Protocol):
    def __call__(
        self,
        method: str,
        url: str,
        *,
        authenticated: bool = ...,
        idempotent: bool | None = ...,
        permits: RowPermits | None = ...,
        **kwargs: Any,
    ) -> Awaitable[httpx.Response]: ...


class Authenticator:
    """Holds the current credentials and obtains new ones when they are missing or stale."""

    def __init__(
        self,
        settings: DocuWareSettings,
        request: Requester,
        parse: Callable[[httpx.Response], Any],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._request = request
        self._parse = parse
        self._clock = clock
        self._lock = asyncio.Lock()
        self.mode: str | None = None if settings.auth == "auto" else settings.auth
        self.generation = 0
        self.logins = 0
        self.signed_in_at = 0.0
        self._valid = False
        self._token = ""
        self._refresh_token = ""
        self._renew_at = 0.0
        self._token_endpoint = ""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self.mode in TOKEN_MODES else {}

    def _fresh(self) -> bool:
        if not self._valid:
            return False
        return self.mode not in TOKEN_MODES or self._clock() < self._renew_at

    async def ensure(self, permits: RowPermits | None = None) -> int:
        """Valid credentials, logging in at most once however many tasks ask; the generation.
        `permits`: the job's whose row asks (its sign-in requests carry them, as its own do)."""
        if self._fresh():
            return self.generation
        async with self._lock:
            if not self._fresh():
                await self._login(permits)
                self.generation += 1
                self.signed_in_at = self._clock()
            return self.generation

    def may_have_expired(self, generation: int) -> bool:
        """Whether a 401 for `generation` may be an expiry rather than a refusal: the
        credentials were replaced since, or had lived `EXPIRY_PLAUSIBLE_S` when refused (a
        server can end a session early, or while a throttled request waits)."""
        if generation != self.generation:
            return True
        return self._clock() - self.signed_in_at >= EXPIRY_PLAUSIBLE_S

    def invalidate(self, generation: int) -> None:
        """Forget the credentials a rejected request used, unless they were replaced already."""
        if generation == self.generation:
            self._valid = False

    async def _login(self, permits: RowPermits | None) -> None:
        self.logins += 1
        self._reread_secrets()
        if self.mode != "client_credentials" and not self._settings.password:
            # DocuWare would answer invalid_username_or_password, which sends people
            # looking for a typo rather than for the setting that is missing.
            raise AuthenticationError(no_password_sentence(self._settings))
        if self.mode == "oauth":
            await self._oauth_login(permits)
        elif self.mode == "client_credentials":
            await self._client_credentials_login(permits)
        elif self.mode == "cookie":
            await self._cookie_login(permits)
        else:
            await self._auto_login(permits)
        self._valid = True

    def _reread_secrets(self) -> None:
        """A password or client secret kept in a file is read again at every sign-in, so a
        corrected file takes effect without restarting the workers."""
        settings = self._settings
        self._settings = replace(
            settings,
            password=settings.password.reread(),
            client_secret=settings.client_secret.reread(),
        )

    async def _auto_login(self, permits: RowPermits | None) -> None:
        endpoint = await self._discover(permits, required=False)
        if endpoint:
            self.mode = "oauth"
            await self._oauth_login(permits)
            return
        log.info("No Identity Service found; using cookie logon")
        self.mode = "cookie"
        try:
            await self._cookie_login(permits)
        except _CookieLogonGone:
            log.info("Cookie logon is gone (410); trying OAuth at the default Identity Service")
            self.mode = "oauth"
            self._token_endpoint = await self._discover_at(
                self._settings.url + "/DocuWare/Identity", permits
            )
            await self._oauth_login(permits)

    # --- OAuth2 -------------------------------------------------------------------------

    async def _discover(self, permits: RowPermits | None, *, required: bool) -> str:
        """The token endpoint from IdentityServiceInfo and OIDC discovery; '' when absent."""
        if self._token_endpoint:
            return self._token_endpoint
        try:
            response = await self._request(
                "GET", PLATFORM + "/Home/IdentityServiceInfo", authenticated=False, permits=permits
            )
            info = self._parse(response)
        except DocuWareError as exc:
            if exc.status in NO_IDENTITY_STATUSES or isinstance(exc, UnexpectedResponseError):
                return self._no_identity(required)
            raise
        url = info.get("IdentityServiceUrl") if isinstance(info, Mapping) else None
        if not url:
            return self._no_identity(required)
        identity = urljoin(self._settings.url + "/", url)
        self._token_endpoint = await self._discover_at(identity, permits)
        return self._token_endpoint

    def _no_identity(self, required: bool) -> str:
        if required:
            hint = (
                "which [docuware] auth = client_credentials needs (DocuWare 7.11 or newer)"
                if self.mode == "client_credentials"
                else "set [docuware] auth to cookie or auto"
            )
            raise AuthenticationError(
                f"{self._settings.url} has no DocuWare Identity Service for OAuth sign-in; {hint}.",
                path=PLATFORM + "/Home/IdentityServiceInfo",
            )
        return ""

    async def _discover_at(self, identity_url: str, permits: RowPermits | None) -> str:
        config_url = identity_url.rstrip("/") + "/.well-known/openid-configuration"
        try:
            answer = await self._request("GET", config_url, authenticated=False, permits=permits)
            config = self._parse(answer)
        except NotFoundError:
            raise AuthenticationError(
                f"The Identity Service at {identity_url} has no OpenID configuration.",
                path=httpx.URL(config_url).path,
                status=404,
            ) from None
        endpoint = config.get("token_endpoint") if isinstance(config, Mapping) else None
        if not endpoint:
            raise UnexpectedResponseError(
                f"The OpenID configuration at {config_url} names no token endpoint.",
                path=httpx.URL(config_url).path,
            )
        return str(endpoint)

    async def _oauth_login(self, permits: RowPermits | None) -> None:
        await self._discover(permits, required=True)
        if self._refresh_token:
            try:
                await self._token_request(
                    {"grant_type": "refresh_token", "refresh_token": self._refresh_token}, permits
                )
                return
            except AuthenticationError:
                log.info("Refresh token refused; signing in with the password again")
                self._refresh_token = ""
        await self._token_request(
            {
                "grant_type": "password",
                "username": self._settings.username,
                "password": self._settings.password.reveal(),
                "scope": self._settings.scope,
            },
            permits,
        )

    async def _client_credentials_login(self, permits: RowPermits | None) -> None:
        """An app registration's sign-in; no refresh token: near expiry it simply signs in again."""
        await self._discover(permits, required=True)
        await self._token_request(
            {
                "grant_type": "client_credentials",
                "client_secret": self._settings.client_secret.reveal(),
                "scope": self._settings.scope,
            },
            permits,
        )
        self._refresh_token = ""

    async def _token_request(self, form: dict[str, str], permits: RowPermits | None) -> None:
        form = {**form, "client_id": self._settings.client_id}
        try:
            response = await self._request(
                "POST",
                self._token_endpoint,
                authenticated=False,
                idempotent=True,
                permits=permits,
                data=form,
            )
        except DocuWareError as exc:
            if exc.status in (400, 401, 403):
                raise self._refused(exc) from None
            raise
        body = self._parse(response)
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not token:
            raise AuthenticationError(
                f"The token endpoint {httpx.URL(self._token_endpoint).path} sent no access token.",
                path=httpx.URL(self._token_endpoint).path,
            )
        self._token = str(token)
        lifetime = _seconds(body.get("expires_in"), 3600.0)
        # renew 60 s early, or half-way through a lifetime shorter than two minutes
        self._renew_at = self._clock() + lifetime - min(EARLY_RENEWAL_S, lifetime / 2)
        self._refresh_token = str(body.get("refresh_token") or "")

    def _refused(self, exc: DocuWareError) -> AuthenticationError:
        server_message = self._scrub(exc.server_message)
        reason = server_message or "invalid credentials"
        refusal = (
            f"DocuWare refused the sign-in of {self._settings.signer} at {exc.path}: "
            f"{reason.rstrip('.')}."
        )
        return AuthenticationError(
            f"{refusal} {secret_fix(self._settings)}",
            refusal=refusal,
            path=exc.path,
            status=exc.status,
            server_message=server_message,
        )

    def _scrub(self, text: str) -> str:
        """The server's words without our own secrets, should it ever echo them."""
        for secret in (self._settings.password, self._settings.client_secret):
            if secret:
                text = text.replace(secret.reveal(), "***")
        return text

    # --- cookie logon ----------------------------------------------------------------

    async def _cookie_login(self, permits: RowPermits | None) -> None:
        form = {
            "UserName": self._settings.username,
            "Password": self._settings.password.reveal(),
            "Organization": self._settings.organization,
            "LicenseType": "PlatformService",
            "RememberMe": "false",
            "RedirectToMyselfInCaseOfError": "false",
        }
        try:
            await self._request(
                "POST",
                PLATFORM + "/Account/Logon",
                authenticated=False,
                idempotent=False,
                permits=permits,
                data=form,
            )
        except DocuWareError as exc:
            if exc.status == 410 and self._settings.auth == "auto":
                raise _CookieLogonGone() from None
            if exc.status == 410:
                raise AuthenticationError(
                    f"{self._settings.url} no longer accepts cookie logon at {exc.path} (410); "
                    "set [docuware] auth to oauth or auto.",
                    path=exc.path,
                    status=410,
                    server_message=exc.server_message,
                ) from None
            if exc.status in (400, 401, 403):
                raise self._refused(exc) from None
            raise

    async def logout(self) -> None:
        """End a cookie session (frees the licence seat); OAuth tokens are simply dropped.

        Bounded (`LOGOFF_S`): a worker stopping while DocuWare is away must still stop.
        """
        if self.mode == "cookie" and self._valid:
            try:
                async with asyncio.timeout(LOGOFF_S):
                    await self._request("GET", PLATFORM + "/Account/Logoff", authenticated=False)
            except (DocuWareError, TimeoutError) as exc:
                log.info("Logoff failed: %s", exc or "no answer in time")
        self._valid = False
        self._token = ""
        self._refresh_token = ""


def signing_secret(settings: DocuWareSettings) -> Secret:
    """The password, or the app registration's client secret."""
    return settings.client_secret if settings.auth == "client_credentials" else settings.password


def secret_fix(settings: DocuWareSettings) -> str:
    """What to do after the workers' sign-in was refused, by where the secret came from."""
    secret = signing_secret(settings)
    if secret.source is not None:
        return (
            f"Correct {secret.source} ({secret.origin}): workers read it again at their next "
            "sign-in, so retrying the job is enough."
        )
    if secret.origin:
        return (
            f"Correct {secret.origin} where the workers are started; running workers cannot "
            "see a changed environment, so restart them (`exmado down`, `exmado up`), then "
            "retry the job."
        )
    return "Correct the user name or password, then retry the job."


def by_hand_sentence(
    exc: AuthenticationError, settings: DocuWareSettings, again: str = "run the command again"
) -> str:
    """The refusal with advice for a command run by hand (check the secret where it was set,
    then `again`), not the workers' (restart them, retry the job)."""
    if not exc.refusal:
        return str(exc)
    return f"{exc.refusal} Check {credentials_to_check(settings)}, then {again}."


def credentials_to_check(settings: DocuWareSettings) -> str:
    """After a refused sign-in: the secret, named where it was set, and the name it goes with."""
    secret = signing_secret(settings)
    app = settings.auth == "client_credentials"
    where = f"{secret.source} ({secret.origin})" if secret.source else secret.origin
    what = where or ("the client secret" if app else "the password")
    who = "client id" if app else "user name"
    return f"{what} and the {who}"


def no_password_sentence(settings: DocuWareSettings) -> str:
    return (
        f"No DocuWare password is configured for {settings.signer}: set DOCUWARE_PASSWORD, or "
        "[docuware] password_file = an owner-only file holding it, in the host configuration "
        "(--config, EXMADO_CONFIG or ~/.config/exmado/exmado.toml)."
    )


class _CookieLogonGone(Exception):
    """Account/Logon answered 410: the server only speaks OAuth."""


def _seconds(value: object, default: float) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
