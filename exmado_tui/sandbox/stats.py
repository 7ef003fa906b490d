"""Request counters per endpoint, status and downloaded document, and the cookie sessions
logged off, for tests and demos."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


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
