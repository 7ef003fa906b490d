"""DocuWare's failures: each kind of failure as an error that knows whether a retry could
help, and when a request is tried again, after how long, behind the gate throttling closes.

Policy: 429 is always resent (DocuWare documents throttled requests as not executed), after
`Retry-After` (seconds or an HTTP date; the configured default when absent), and the wait holds
back every request of the client, not only the one that was throttled. 408/500/502/503/504,
resets and timeouts back off exponentially with full jitter, but only for requests that are
safe to repeat: GET/HEAD/PUT/DELETE, and POSTs marked idempotent (searches and token requests).
A connect failure means nothing was sent, so any request may be retried after one.

A job's throttling episodes, from the budget's signals, are told in its event log
(`ThrottleWatch`): when DocuWare began slowing the job down and, once quiet, how long it lasted.
A request held unanswered is told only once DocuWare answers again: held until it failed, it
was an outage, not throttling.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeGuard

import httpx

from exmado_tui.errors import PermanentError, RetryableError
from exmado_tui.job.status import Event


class DocuWareError(Exception):
    """Mixin carrying the request path, HTTP status and DocuWare's own `Message`."""

    def __init__(
        self, message: str, *, path: str = "", status: int | None = None, server_message: str = ""
    ) -> None:
        super().__init__(message)
        self.path = path
        self.status = status
        self.server_message = server_message


class AuthenticationError(DocuWareError, PermanentError):
    """DocuWare refused the credentials, or sign-in is not possible with the configured mode.

    `refusal`, when the credentials were refused: the sentence without the advice for the
    workers (correct the secret, restart them, retry the job), for a command run by hand to
    give its own.
    """

    def __init__(self, message: str, *, refusal: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.refusal = refusal


class NotFoundError(DocuWareError, PermanentError):
    """The cabinet, dialog, document or section does not exist (HTTP 404)."""


class BadRequestError(DocuWareError, PermanentError):
    """DocuWare rejected the request as malformed (HTTP 400/422), e.g. a bad search value."""


class ForbiddenError(DocuWareError, PermanentError):
    """The user may not see or change this resource (HTTP 403)."""


class UnexpectedResponseError(DocuWareError, PermanentError):
    """Any other refusal, or an answer the client cannot read."""


class RefusedAnswerError(DocuWareError, PermanentError):
    """An answer Éxmado will not take: larger than its bound, more result pages than the
    search declared, or a link to another server than the configured one."""


class SlowAnswerError(DocuWareError, RetryableError):
    """A body that came in under the rate floor and was cut; another try may be faster."""


class ThrottledError(DocuWareError, RetryableError):
    """DocuWare throttled the client (HTTP 429); `retry_after` is the wait it asked for."""

    def __init__(self, message: str, *, retry_after: float, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(DocuWareError, RetryableError):
    """A passing server or gateway failure (HTTP 408, 5xx)."""


class DocuWareNetworkError(DocuWareError, RetryableError):
    """The server could not be reached or stopped answering (connect/read errors, timeouts)."""


class DocuWareDownError(RetryableError):
    """A run's rows found DocuWare failing as a whole (out of reach for each, or failing a
    streak of them for a passing reason): the job is handed back until it is back."""


class IncompleteDownloadError(DocuWareError, RetryableError):
    """A download ended before all announced bytes arrived; the partial file was removed."""


# Answers of a gateway or a server unavailable as a whole, whatever the request asked.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


def server_wide(exc: BaseException) -> TypeGuard[DocuWareError]:
    """DocuWare as a whole failed the request, not the request itself: out of reach, unavailable
    behind its gateway, or throttling past the retries. Any other request now would meet the
    same; a 500, a 408 or a refusal may be the request's own doing."""
    unavailable = isinstance(exc, ServerError) and exc.status in UNAVAILABLE_STATUSES
    return unavailable or isinstance(exc, DocuWareNetworkError | ThrottledError)


def server_message(response: httpx.Response) -> str:
    """DocuWare's `Message` (or OAuth's `error_description`) from an error body, else ''."""
    try:
        body = json.loads(response.content or b"null")
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(body, dict):
        return ""
    for key in ("Message", "error_description", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def redirect_target(response: httpx.Response) -> str:
    """'redirected to <where>' for a 3xx (query dropped: it may carry a return URL or token).

    DocuWare itself answers 401 rather than redirecting to its login page (reference §1.6),
    so a redirect means a proxy/SSO login page or an http→https move: say where it leads.
    """
    location = response.headers.get("Location", "").strip()
    if not 300 <= response.status_code < 400 or not location:
        return ""
    try:
        target = httpx.URL(location).copy_with(query=None, fragment=None)
    except httpx.InvalidURL:
        return "redirected elsewhere"
    return f"redirected to {target}"


def sentence(status: int, path: str, message: str) -> str:
    """One sentence naming the path and the server's message, never a secret."""
    text = f"DocuWare answered {status} for {path}"
    if message:
        text += f": {message.rstrip('.')}"
    return text + "."


def error_for(response: httpx.Response, *, retry_after: float = 0.0) -> DocuWareError:
    """The error that matches a non-2xx response."""
    status = response.status_code
    path = response.request.url.path
    message = server_message(response) or redirect_target(response)
    text = sentence(status, path, message)
    if status == 429:
        return ThrottledError(
            text, retry_after=retry_after, path=path, status=status, server_message=message
        )
    if status == 408 or status >= 500:
        return ServerError(text, path=path, status=status, server_message=message)
    kinds: dict[int, type[DocuWareError]] = {
        400: BadRequestError,
        401: AuthenticationError,
        403: ForbiddenError,
        404: NotFoundError,
        410: AuthenticationError,
        422: BadRequestError,
    }
    kind = kinds.get(status, UnexpectedResponseError)
    return kind(text, path=path, status=status, server_message=message)


def network_error(exc: httpx.TransportError, url: httpx.URL) -> DocuWareNetworkError:
    """Wrap an httpx transport failure in one sentence that names the server."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    # aiohttp names its TLS setting ("ssl:default") even for a plain http:// address
    detail = (str(exc) or type(exc).__name__).replace(" ssl:default ", " ")
    server = f"{url.scheme}://{url.netloc.decode()}"
    hint = ""
    if url.scheme == "https" and "WRONG_VERSION_NUMBER" in detail:  # it did not answer in TLS
        hint = "; it may be a plain http:// server: check the scheme of [docuware] url"
    return DocuWareNetworkError(
        f"DocuWare at {server} cannot be reached: {url.path} {kind} ({detail}){hint}.",
        path=url.path,
    )


# --- trying again ----------------------------------------------------------------------

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

RETRY_STATUSES = frozenset({408, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    throttle_default_wait_s: float = 60.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 600.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential delay before attempt `attempt + 1` (attempt counts from 1)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)

    def throttle_wait(self, response: httpx.Response, now: datetime | None = None) -> float:
        wait = parse_retry_after(response.headers.get("Retry-After"), now)
        wait = self.throttle_default_wait_s if wait is None else wait
        return min(max(wait, 0.0), self.max_retry_after_s)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as delta seconds or an HTTP date → seconds to wait (None if unusable)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:  # "nan" and "inf" parse as floats but say nothing usable
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - (now or datetime.now(UTC))).total_seconds(), 0.0)


def may_retry(method: str, *, idempotent: bool | None) -> bool:
    return idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS


class ThrottleGate:
    """A shared time stamp: no request of the client is sent before it."""

    def __init__(self, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._open_at = 0.0

    def close_for(self, seconds: float) -> None:
        self._open_at = max(self._open_at, self._clock() + seconds)

    @property
    def remaining(self) -> float:
        return max(self._open_at - self._clock(), 0.0)

    async def wait(self) -> None:
        while (remaining := self.remaining) > 0:
            await self._sleep(remaining)


# How an episode's two sentences begin: `notify/delivery.py` finds a job slowed for long by them.
SLOWED = "Slowed by DocuWare throttling"
OVER = "Throttling over"


class ThrottleWatch:
    """One job's throttling episodes, as sentences for its event log."""

    QUIET_S = 10.0  # an episode ends after this long without a throttle signal

    def __init__(self) -> None:
        self.started: float | None = None
        self.last = 0.0
        self.rate = 0.0
        self._pending: list[Event] = []
        # (when, rate) of requests held, not yet told apart as throttled or out of reach: the
        # first (the episode's start) and the last
        self._held: list[tuple[float, float]] = []
        self._out_of_reach = False  # a request went unanswered, and none was answered since
        self._back = 0.0  # when DocuWare last answered again after that (`time.monotonic`)

    def throttled(self, rate: float, now: float | None = None) -> None:
        """A throttle signal (a 429), at `now` (`time.monotonic`; None: now)."""
        now = time.monotonic() if now is None else now
        if self.started is None:
            self.started = now
            self._pending.append(
                Event(
                    f"{SLOWED}; shared budget {rate:.1f} requests/s.",
                    "warning",
                )
            )
        self.last, self.rate = max(self.last, now), rate

    def held(self, rate: float, sent: float) -> None:
        """A request sent at `sent` (`time.monotonic`) held unanswered: throttling if DocuWare
        answers (`answered`) before a request finds it out of reach (`unreachable`). Sent
        while it was, it is held by the outage, even if that ends meanwhile."""
        if not self._out_of_reach and sent >= self._back:
            self._held[1:] = [(time.monotonic(), rate)]

    def answered(self) -> None:
        """DocuWare answered a request: the requests held before it were throttled."""
        if self._out_of_reach:
            self._out_of_reach, self._back = False, time.monotonic()
        for when, rate in self._held:
            self.throttled(rate, when)
        self._held = []

    def unreachable(self) -> None:
        """A request had no answer at all: the requests held before it were an outage."""
        self._out_of_reach = True
        self._held = []

    def sentences(self, ended: bool = False) -> list[Event]:
        """What to record now: an episode's start, its end once quiet for `QUIET_S` (or the
        run `ended`)."""
        quiet = time.monotonic() - self.last >= self.QUIET_S
        if self.started is not None and (quiet or ended):
            lasted = max(self.last - self.started, 1.0)
            self._pending.append(
                Event(
                    f"{OVER}: slowed for {lasted:.0f} s; shared budget {self.rate:.1f} requests/s."
                )
            )
            self.started = None
        done, self._pending = self._pending, []
        return done
