"""One HTTP connection pool to DocuWare: headers, auth, retries, throttling and logging.

Every request passes through `Connection.request`: wait for its turn at the request budget
(`budget.py`: the one the workers share, or this process's own), make sure
the client is signed in, send, log method/path/status/elapsed (never headers or bodies), then
retry, re-authenticate once after a 401, or raise the matching error (see `errors.py`).

Every answer is also told to whoever counts them (`install_tally`): the client knows no metrics
library, and by default nothing listens; a worker with `[metrics] listen` set installs its
Prometheus counters (`workers.metrics`) at boot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

import httpx

from exmado_tui.config.settings import DocuWareSettings
from exmado_tui.docuware.auth import Authenticator
from exmado_tui.docuware.body import MB, BodyLimits, read_body, size_text, with_body
from exmado_tui.docuware.budget import Budget, LocalBudget, RowPermits, Ticket
from exmado_tui.docuware.budget_store import Kind, kind_of
from exmado_tui.docuware.errors import (
    NOT_SENT,
    RETRY_STATUSES,
    AuthenticationError,
    Clock,
    RefusedAnswerError,
    RetryPolicy,
    Sleep,
    UnexpectedResponseError,
    error_for,
    may_retry,
    network_error,
)
from exmado_tui.docuware.transport import AiohttpTransport
from exmado_tui.errors import SettingsError

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
    """The client's httpx client; over aiohttp's connections (`transport.py`) unless a test
    gives its own transport."""
    if transport is None:
        limits = httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_connections,
            keepalive_expiry=30,
        )
        transport = AiohttpTransport(verify=tls_verify(settings), limits=limits)
    return httpx.AsyncClient(
        base_url=settings.url,
        transport=transport,
        timeout=httpx.Timeout(settings.timeout_s),
        # gzip and deflate only: those are what `body.py` decodes within its bounds
        headers={
            "User-Agent": user_agent(),
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
        },
        follow_redirects=False,
    )


def parse_json(response: httpx.Response) -> Any:
    """The body as JSON, decimals kept exact."""
    return parse_body(response.content, response.request.url.path, response.status_code)


def parse_body(content: bytes, path: str, status: int = 200) -> Any:
    """A response body (`path` answered it) as JSON, decimals kept exact."""
    try:
        return json.loads(content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise UnexpectedResponseError(
            f"DocuWare sent something other than JSON for {path}.", path=path, status=status
        ) from None


class AnswerTally(Protocol):
    def answered(self, kind: Kind, status: int) -> None: ...


class _Nobody:
    def answered(self, kind: Kind, status: int) -> None:
        return None


_tally: AnswerTally = _Nobody()


def install_tally(tally: AnswerTally) -> None:
    """Count this process's answers with `tally` from now on."""
    global _tally
    _tally = tally


class Connection:
    def __init__(
        self,
        settings: DocuWareSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        budget: Budget | None = None,
    ) -> None:
        self.settings = settings
        self.budget: Budget = budget or LocalBudget(clock, sleep)
        self.http = build_http(settings, transport)
        self._base = str(self.http.base_url).rstrip("/") + "/"  # "/" shown only past a path
        self.policy = retry or RetryPolicy(
            max_attempts=settings.max_attempts,
            throttle_default_wait_s=settings.throttle_default_wait_s,
        )
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
        permits: RowPermits | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries; a 2xx response (unread when `stream`), else a DocuWare error.

        `what` names the answer in a sentence about its size ("a search page"). A body not
        streamed is read here within `[docuware] max_json_mb` and the rate floor. `permits`:
        the job's whose row sends it (a sign-in it needs first carries them too).
        """
        attempt, replayed, held = 0, False, 0
        extra_headers = kwargs.pop("headers", None) or {}
        target = self._target(url, kwargs.pop("params", None))
        what = kwargs.pop("what", "") or target.path
        if authenticated:
            self.refuse_elsewhere(target)
        while True:
            attempt += 1
            if authenticated:  # signing in now, not while the turn's ticket is out
                await self.auth.ensure(permits)
            patience = self._patience(method, idempotent, attempt, held)
            ticket = await self._turn(target, patience, permits, authenticated)
            try:
                # Again after the turn: a token can expire during a long wait for a slow budget.
                generation = await self.auth.ensure(permits) if authenticated else 0
                headers = {**extra_headers, **(self.auth.headers() if authenticated else {})}
                request = self.http.build_request(method, target, headers=headers, **kwargs)
                response = await self._send(request, stream, attempt, idempotent, ticket, what)
            except asyncio.CancelledError:
                self.budget.cancelled(ticket)
                raise
            if response is None:
                held += ticket.abandoned
                continue
            if response.is_success:
                return response
            if stream:
                response = await self.whole(response, what)
            if response.status_code == 401 and authenticated:
                if not replayed:  # the first sign-in again is free; later ones are attempts
                    replayed, attempt = True, attempt - 1
                elif not self._sign_in_again_helps(generation, attempt):
                    raise self._error(response, after_relogin=True)
                self.auth.invalidate(generation)
                continue
            if not await self._should_retry(response, attempt, idempotent):
                raise self._error(response, authenticated and replayed)

    def _target(self, url: str, params: dict[str, str] | None) -> httpx.URL:
        """`url` with `params`, parsed once (httpx then takes it as it is). A path on the
        server, as DocuWare links a download, is joined to its address here: httpx would parse
        it three times (the link, the link with its query, the join to its base URL): 100 us a
        request against 36 (about 2 % of a row's CPU). A link with a query of its own gets
        `params` merged into it, where httpx would replace it."""
        if url.startswith("/") and not url.startswith("//") and "?" not in url and "#" not in url:
            query = f"?{httpx.QueryParams(params)}" if params else ""
            return httpx.URL(self._base + url[1:] + query)
        target = httpx.URL(url)
        return target.copy_merge_params(params) if params else target

    def _sign_in_again_helps(self, generation: int, attempt: int) -> bool:
        """After a second 401: only a session that may have ended on its own (a short-lived
        token refused after a slow answer) is worth another sign-in, within the attempts."""
        return attempt < self.policy.max_attempts and self.auth.may_have_expired(generation)

    def refuse_elsewhere(self, target: httpx.URL) -> None:
        """Credentials go only to the configured server: a link from an answer (`next`,
        `fileDownload`, `self`…) that resolves to another scheme, host or port is refused
        before anything is sent. (Redirects are not followed at all.) A relative link, even
        `//host/path`, is joined to the configured server's address by httpx."""
        if target.is_relative_url:
            return
        home = self.http.base_url
        if (target.scheme, target.host, target.port) == (home.scheme, home.host, home.port):
            return
        elsewhere = f"{target.scheme}://{target.netloc.decode()}"
        raise RefusedAnswerError(
            f"DocuWare's answer links {target.path} to {elsewhere}, not to the configured "
            f"server {self.settings.url}; nothing was sent there.",
            path=target.path,
        )

    def json_limits(self, what: str) -> BodyLimits:
        """`[docuware] max_json_mb` and the rate floor, for an answer read whole."""
        settings = self.settings
        cap = int(settings.max_json_mb * MB)

        def too_large(size: int | None) -> str:
            said = size_text(size) if size is not None else f"more than {size_text(cap)}"
            return (
                f"DocuWare answered {said} for {what}, over [docuware] "
                f"max_json_mb = {settings.max_json_mb:g}."
            )

        return BodyLimits(cap, too_large, *self.rate_floor())

    def rate_floor(self) -> tuple[float, float]:
        """(bytes a second, window) every body must keep up: `[docuware] min_rate_*`."""
        return self.settings.min_rate_kb_s * 1024, self.settings.min_rate_window_s

    async def whole(self, response: httpx.Response, what: str) -> httpx.Response:
        """`response` read (within `json_limits`): its `.content` is then available."""
        body = await read_body(response, self.json_limits(what))
        return with_body(response, body)

    def _patience(
        self, method: str, idempotent: bool | None, attempt: int, held: int
    ) -> float | None:
        """How long to wait for an answer before sending the request again (None: for ever);
        only a request that may be repeated is given up (see `Budget.patience`)."""
        if attempt >= self.policy.max_attempts or not may_retry(method, idempotent=idempotent):
            return None
        return self.budget.patience(held)

    async def _turn(
        self, url: httpx.URL, patience: float | None, permits: RowPermits | None, counted: bool
    ) -> Ticket:
        """Wait until this request may go: its ticket from the budget."""
        return await self.budget.take(kind_of(url.path), patience, permits, counted)

    async def _send(
        self,
        request: httpx.Request,
        stream: bool,
        attempt: int,
        idempotent: bool | None,
        ticket: Ticket,
        what: str = "",
    ) -> httpx.Response | None:
        """The response (read unless `stream`), or None after a transport failure that is
        worth another attempt."""
        started = self._clock()
        try:
            response = await self._send_or_abandon(request, ticket)
        except TimeoutError:  # held past `held_after`: the budget was cut; send it again
            await self.budget.abandoned(ticket)
            return None
        except httpx.TransportError as exc:
            await self.budget.failed(ticket)
            await self._again_after(request, exc, attempt, idempotent)
            return None
        elapsed_ms = (self._clock() - started) * 1000
        log.debug(
            "%s %s -> %s in %.0f ms",
            request.method,
            request.url.path,
            response.status_code,
            elapsed_ms,
        )
        _tally.answered(ticket.kind, response.status_code)
        wait = self.policy.throttle_wait(response) if response.status_code == 429 else 0.0
        await self.budget.answered(ticket, response.status_code, wait)
        if stream:
            return response
        try:
            return await self.whole(response, what)
        except httpx.TransportError as exc:  # the body broke off
            await self._again_after(request, exc, attempt, idempotent)
            return None

    async def _again_after(
        self,
        request: httpx.Request,
        exc: httpx.TransportError,
        attempt: int,
        idempotent: bool | None,
    ) -> None:
        """After a transport failure: back off when another attempt is safe, else raise."""
        log.warning("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
        safe = isinstance(exc, NOT_SENT) or may_retry(request.method, idempotent=idempotent)
        if safe and attempt < self.policy.max_attempts:
            await self._sleep(self.policy.backoff(attempt))
            return None
        raise network_error(exc, request.url) from None

    async def _send_or_abandon(self, request: httpx.Request, ticket: Ticket) -> httpx.Response:
        """Always streamed from httpx: a body is read by `whole` (within its bounds) or by
        the caller; httpx would read any size, and inflate it at once."""
        async with asyncio.timeout(ticket.patience):
            return await self.http.send(request, stream=True)

    async def _should_retry(
        self, response: httpx.Response, attempt: int, idempotent: bool | None
    ) -> bool:
        status = response.status_code
        method, path = response.request.method, response.request.url.path
        if status == 429:  # the budget has heard of it (`_send`) and waits it out
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
            await self.budget.aclose()
