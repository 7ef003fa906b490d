"""One HTTP connection pool to DocuWare: headers, auth, retries, throttle gate and logging.

Every request passes through `Connection.request`: wait at the throttle gate, make sure the
client is signed in, send, log method/path/status/elapsed (never headers or bodies), then
retry, re-authenticate once after a 401, or raise the matching error (see `retry.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.request import getproxies, proxy_bypass

import httpx

from exmado_tui.docuware.auth import Authenticator
from exmado_tui.docuware.errors import (
    AuthenticationError,
    UnexpectedResponseError,
    error_for,
    network_error,
)
from exmado_tui.docuware.retry import (
    NOT_SENT,
    RETRY_STATUSES,
    Clock,
    RetryPolicy,
    Sleep,
    ThrottleGate,
    may_retry,
)
from exmado_tui.docuware.transport import PoolTransport
from exmado_tui.errors import SettingsError
from exmado_tui.settings import DocuWareSettings

log = logging.getLogger("exmado.docuware")


def user_agent() -> str:
    try:
        return f"exmado/{version('exmado')}"
    except PackageNotFoundError:
        return "exmado/0"


def tls_verify(settings: DocuWareSettings) -> ssl.SSLContext | bool:
    """False when verification is off; a context trusting `ca_bundle` when one is set."""
    if not settings.verify_tls:
        return False
    if not settings.ca_bundle:
        return True
    try:
        return ssl.create_default_context(cafile=settings.ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(
            f"[docuware] ca_bundle {settings.ca_bundle} cannot be used as a CA bundle ({exc})."
        ) from None


def build_http(
    settings: DocuWareSettings, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
        keepalive_expiry=30,
    )
    verify = tls_verify(settings) if transport is None else True
    if transport is None and not proxied(settings.url):
        transport = PoolTransport(verify=verify, limits=limits)
    return _Client(
        base_url=settings.url,
        transport=transport,
        limits=limits,
        timeout=httpx.Timeout(settings.timeout_s),
        verify=verify,
        headers={"User-Agent": user_agent(), "Accept": "application/json"},
        follow_redirects=False,
    )


class _SetCookies(httpx.Cookies):
    """The client's cookie jar; a response without `Set-Cookie` is not handed to it.

    httpx hands every response to `http.cookiejar`, which builds urllib request and response
    stand-ins (parsing the URL again) only to find no cookie header — about 3 % of the
    worker's CPU in the pipeline benchmark. The jar reads nothing but those two headers.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    """`httpx.AsyncClient` with `_SetCookies` as its jar."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _SetCookies(self._cookies.jar)


def proxied(url: str) -> bool:
    """Whether the environment routes `url` through a proxy (then httpx's transport handles it)."""
    host = httpx.URL(url).host
    return bool(getproxies()) and not proxy_bypass(host)


def parse_json(response: httpx.Response) -> Any:
    """The body as JSON, decimals kept exact."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        path = response.request.url.path
        raise UnexpectedResponseError(
            f"DocuWare sent something other than JSON for {path}.",
            path=path,
            status=response.status_code,
        ) from None


class Connection:
    def __init__(
        self,
        settings: DocuWareSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.http = build_http(settings, transport)
        self.policy = retry or RetryPolicy(
            max_attempts=settings.max_attempts,
            throttle_default_wait_s=settings.throttle_default_wait_s,
        )
        self.gate = ThrottleGate(clock, sleep)
        self.auth = Authenticator(settings, self.request, parse_json, clock)
        self._clock = clock
        self._sleep = sleep

    async def request(
        self,
        method: str,
        url: str,
        *,
        authenticated: bool = True,
        idempotent: bool | None = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries; a 2xx response (unread when `stream`), else a DocuWare error."""
        attempt, replayed = 0, False
        extra_headers = kwargs.pop("headers", None) or {}
        if kwargs.get("params"):  # httpx would replace the link's own query; merge instead
            url = str(httpx.URL(url).copy_merge_params(kwargs.pop("params")))
        while True:
            attempt += 1
            await self.gate.wait()
            generation = await self.auth.ensure() if authenticated else 0
            headers = {**extra_headers, **(self.auth.headers() if authenticated else {})}
            request = self.http.build_request(method, url, headers=headers, **kwargs)
            response = await self._send(request, stream, attempt, idempotent)
            if response is None:
                continue
            if response.is_success:
                return response
            if stream:
                await response.aread()
                await response.aclose()
            if response.status_code == 401 and authenticated and not replayed:
                replayed, attempt = True, attempt - 1
                self.auth.invalidate(generation)
                continue
            if not await self._should_retry(response, attempt, idempotent):
                raise self._error(response, authenticated and replayed)

    async def _send(
        self, request: httpx.Request, stream: bool, attempt: int, idempotent: bool | None
    ) -> httpx.Response | None:
        """The response, or None after a transport failure that is worth another attempt."""
        started = self._clock()
        try:
            response = await self.http.send(request, stream=stream)
        except httpx.TransportError as exc:
            log.warning("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
            safe = isinstance(exc, NOT_SENT) or may_retry(request.method, idempotent=idempotent)
            if safe and attempt < self.policy.max_attempts:
                await self._sleep(self.policy.backoff(attempt))
                return None
            raise network_error(exc, request.url) from None
        elapsed_ms = (self._clock() - started) * 1000
        log.debug(
            "%s %s -> %s in %.0f ms",
            request.method,
            request.url.path,
            response.status_code,
            elapsed_ms,
        )
        return response

    async def _should_retry(
        self, response: httpx.Response, attempt: int, idempotent: bool | None
    ) -> bool:
        status = response.status_code
        method, path = response.request.method, response.request.url.path
        if status == 429:
            wait = self.policy.throttle_wait(response)
            log.warning("%s %s throttled (429); all requests wait %.1f s", method, path, wait)
            self.gate.close_for(wait)
            return attempt < self.policy.max_attempts
        if attempt >= self.policy.max_attempts:
            return False
        if status in RETRY_STATUSES and may_retry(method, idempotent=idempotent):
            delay = self.policy.backoff(attempt)
            log.warning("%s %s -> %s; retry %d in %.2f s", method, path, status, attempt, delay)
            await self._sleep(delay)
            return True
        return False

    def _error(self, response: httpx.Response, after_relogin: bool) -> Exception:
        if response.status_code == 401 and after_relogin:
            path = response.request.url.path
            return AuthenticationError(
                f"DocuWare refused {path} (401) even after signing in again.",
                path=path,
                status=401,
            )
        wait = self.policy.throttle_wait(response) if response.status_code == 429 else 0.0
        return error_for(response, retry_after=wait)

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.request(method, url, **kwargs)
        return parse_json(response)

    async def aclose(self) -> None:
        try:
            await self.auth.logout()
        finally:
            await self.http.aclose()
