"""Sandbox settings: the faults it gets wrong on purpose (`FaultSettings`), the frozen start-up
configuration that holds the first of them, and the faults of a running sandbox (`Faults`)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

AUTH_MODES = ("oauth", "cookie", "both", "oauth-only-410")
DEFAULT_USERS = (("demo", "demo"),)
PLATFORM_VERSIONS = {
    "oauth": "7.11.0.0",
    "oauth-only-410": "7.11.0.0",
    "both": "7.10.0.0",
    "cookie": "7.4.0.0",
}


_RATES = ("error_rate", "throttle_rate", "spike_rate", "cut_rate", "short_rate")
_NON_NEGATIVE = (
    "latency_ms",
    "throttle_delay_ms",
    "spike_ms",
    "logons_per_min",
    "cabinets_per_min",
    "search_limit",
)


@dataclass(frozen=True)
class FaultSettings:
    """What the sandbox gets wrong on purpose: given at start (`SandboxConfig.faults`), switched
    while it runs (`Faults.update`, `POST /_sandbox/faults`).

    `latency_ms` is added to every request; `error_rate` of requests are answered 500/503;
    `throttle_rps`: requests a second per user before a 429 with Retry-After (0 = off).
    `throttle_delay_ms`: how long a throttled request waits before its 429 — DocuWare itself
    answers one only after about 10 s (0 here by default, so tests stay quick).
    `token_ttl`: the lifetime of an access token, in seconds.
    `logons_per_min` (token requests and cookie logons, per organization) and
    `cabinets_per_min` (cabinet list and description, per user): Cloud's limits (0 = off).
    `throttle_rate`: a fraction of requests answered 429 with Retry-After, whatever the rate;
    `spike_rate` of requests wait `spike_ms` more; of file downloads, `cut_rate` lose their
    connection halfway through the body and `short_rate` end (connection closed) before the
    length their Content-Length announced.
    `search_limit`: the most results one search request may ask for (`count`); more is
    answered 422, as DocuWare answers above its 10,000 (lowered in tests of what splits).
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    throttle_rps: float = 0.0
    throttle_delay_ms: float = 0.0
    token_ttl: float = 3600.0
    logons_per_min: float = 0.0
    cabinets_per_min: float = 0.0
    throttle_rate: float = 0.0
    spike_rate: float = 0.0
    spike_ms: float = 0.0
    cut_rate: float = 0.0
    short_rate: float = 0.0
    search_limit: float = 10000.0

    def __post_init__(self) -> None:
        for name in _NON_NEGATIVE:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, not {getattr(self, name)}")
        for name in _RATES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {getattr(self, name)}")
        if self.throttle_rps < 0:
            raise ValueError(f"throttle_rps must be >= 0 (0 = off), not {self.throttle_rps}")
        if self.token_ttl <= 0:
            raise ValueError(f"token_ttl must be > 0 seconds, not {self.token_ttl}")


FAULT_NAMES = tuple(f.name for f in fields(FaultSettings))


@dataclass(frozen=True)
class SandboxConfig:
    """Everything fixed when the sandbox starts, and the faults it starts with."""

    host: str = "127.0.0.1"
    port: int = 8765
    seed: int = 42
    documents: int = 20000
    personnel: int | None = None
    faults: FaultSettings = FaultSettings()
    auth: str = "both"
    users: tuple[tuple[str, str], ...] = DEFAULT_USERS
    organization: str = "Sandbox Trading GmbH"

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}")
        if self.documents < 1:
            raise ValueError(f"documents must be at least 1, not {self.documents}")
        if not self.users:
            raise ValueError("at least one user is needed")

    @property
    def personnel_documents(self) -> int:
        """How many Personnel documents to generate (a tenth of the invoices unless set)."""
        return self.personnel if self.personnel is not None else max(1, self.documents // 10)

    @property
    def oauth_enabled(self) -> bool:
        """Whether the Identity Service endpoints answer."""
        return self.auth != "cookie"

    @property
    def cookie_enabled(self) -> bool:
        """Whether Account/Logon issues session cookies."""
        return self.auth in ("cookie", "both")

    @property
    def version(self) -> str:
        """The Platform version the service description reports for this auth mode."""
        return PLATFORM_VERSIONS[self.auth]


def parse_user(text: str) -> tuple[str, str]:
    """Split a NAME:PASS command-line value into a (name, password) pair."""
    name, sep, password = text.partition(":")
    if not sep or not name:
        raise ValueError(f"expected NAME:PASS, got {text!r}")
    return name, password


class Faults:
    """The faults of a running sandbox, shared by every request handler (thread-safe).

    `now` is swapped whole, never changed in place: a request that reads it once sees one
    consistent set. `token_epoch` grows when every token issued so far is to expire.
    """

    def __init__(self, start: FaultSettings) -> None:
        self.start = start
        self.now = start
        self.token_epoch = 0
        self._lock = threading.Lock()

    def update(self, **changes: Any) -> dict[str, Any]:
        """Change any of the `FaultSettings` fields; expire_tokens=True too."""
        expire = bool(changes.pop("expire_tokens", False))
        unknown = set(changes) - set(FAULT_NAMES)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            merged = {
                name: float(changes.get(name, getattr(self.now, name))) for name in FAULT_NAMES
            }
            self.now = replace(self.now, **merged)
            if expire:
                self.token_epoch += 1
        return self.snapshot()

    def expire_tokens(self) -> None:
        """Invalidate every access token, refresh token and cookie session issued so far."""
        with self._lock:
            self.token_epoch += 1

    def reset(self) -> None:
        """Go back to the faults the sandbox was started with (tokens stay valid)."""
        with self._lock:
            self.now = self.start

    def snapshot(self) -> dict[str, Any]:
        """The current settings as plain JSON-ready data."""
        return {**asdict(self.now), "token_epoch": self.token_epoch}
