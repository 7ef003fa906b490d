"""Everything one running sandbox shares between requests, and the pieces it is made of.

`Stats` counts requests per endpoint and status, downloads per document and cookie sessions
logged off (for tests and demos); `Throttle` and `ErrorInjector` play the per-user 429s and the
random 500/503s; `ResultCache` keeps recent result lists so paging does not search again;
`State` holds them with the configuration, faults, users and catalogue. The sandbox-only admin
endpoints (`/_sandbox/faults`, `/_sandbox/stats`) read and switch its faults and counters.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from exmado_tui.sandbox.auth import AuthStore, Clock
from exmado_tui.sandbox.config import Faults, SandboxConfig
from exmado_tui.sandbox.data import Catalogue
from exmado_tui.sandbox.schema import Document
from exmado_tui.sandbox.search import Query, Searcher
from exmado_tui.sandbox.wire import HttpError, Request, Response, json_response


class Stats:
    """Thread-safe counters; snapshot() is what GET /_sandbox/stats returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self.requests = 0
            self.by_endpoint: Counter[str] = Counter()
            self.by_status: Counter[int] = Counter()
            self.downloads: Counter[str] = Counter()
            self.logoffs = 0  # cookie sessions ended by Account/Logoff

    def record(self, endpoint: str, status: int) -> None:
        """Count one answered request."""
        with self._lock:
            self.requests += 1
            self.by_endpoint[endpoint] += 1
            self.by_status[status] += 1

    def record_download(self, cabinet_id: str, key: str) -> None:
        """Count one successful file delivery (a document id or a section id)."""
        with self._lock:
            self.downloads[f"{cabinet_id}/{key}"] += 1

    def record_logoff(self) -> None:
        """Count one cookie session ended by its client."""
        with self._lock:
            self.logoffs += 1

    def count(self, endpoint: str) -> int:
        """How many requests reached an endpoint (e.g. "FileDownload", "DialogExpression")."""
        return self.by_endpoint[endpoint]

    def downloads_of(self, cabinet_id: str, doc_id: int | str) -> int:
        """How many times a document (FileDownload) or section (…/Data) was delivered."""
        return self.downloads[f"{cabinet_id}/{doc_id}"]

    def snapshot(self) -> dict[str, Any]:
        """All counters as JSON-ready data."""
        with self._lock:
            return {
                "requests": self.requests,
                "by_endpoint": dict(self.by_endpoint),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "downloads": dict(self.downloads),
                "logoffs": self.logoffs,
            }


class Throttle:
    """Sliding windows per key (one second unless told); a refused request is not counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}

    def allow(self, key: str, limit: float, window_s: float = 1.0) -> bool:
        """Whether one more request for key fits under `limit` per `window_s` (0 = off)."""
        if limit <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            window = self._windows.setdefault(key, deque())
            while window and now - window[0] >= window_s:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True


class ErrorInjector:
    """Decides, reproducibly for a seed, which requests fail with 500 or 503."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"{seed}:errors")
        self._lock = threading.Lock()

    def pick(self, rate: float) -> int | None:
        """500 or 503 for a fraction rate of calls, else None."""
        if rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= rate:
                return None
            return 503 if self._rng.random() < 0.5 else 500

    def chance(self, rate: float) -> bool:
        """True for a fraction `rate` of calls (reproducibly for the seed)."""
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate


class ResultCache:
    """Recent result lists by query token, so paging does not re-run the search."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int], list[Document]] = OrderedDict()

    def get(self, searcher: Searcher, query: Query) -> list[Document]:
        """The documents of a query, computed once per catalogue version."""
        key = (query.to_token(), searcher.catalogue.version)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        docs = searcher.run(query)
        with self._lock:
            self._items[key] = docs
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return docs


@dataclass
class State:
    """Configuration, data, auth and fault machinery of one sandbox."""

    config: SandboxConfig
    faults: Faults
    catalogue: Catalogue
    auth: AuthStore
    searcher: Searcher
    stats: Stats = field(default_factory=Stats)
    throttle: Throttle = field(default_factory=Throttle)
    errors: ErrorInjector = field(default_factory=lambda: ErrorInjector(0))
    results: ResultCache = field(default_factory=ResultCache)

    @classmethod
    def build(cls, config: SandboxConfig, clock: Clock = time.time) -> State:
        """A fresh state with data generated from the config's seed; `clock` dates its tokens."""
        faults = Faults(config.faults)
        catalogue = Catalogue(config.seed, config.documents, config.personnel_documents)
        return cls(
            config,
            faults,
            catalogue,
            AuthStore(dict(config.users), faults, clock=clock),
            Searcher(catalogue),
            errors=ErrorInjector(config.seed),
        )


# ---- the sandbox-only admin endpoints: read/switch faults, read/reset request statistics


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
