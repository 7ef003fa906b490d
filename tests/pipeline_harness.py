"""The pipeline run in-process against a fake DocuWare client, shared by the pipeline tests:
`FakeClient`/`FakeDoc` (the DocuWare boundary this level stubs; the contract suite keeps
them to the real client's shape), `Pipeline` (store, job service, runtime), workbooks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from exmado_tui.config.settings import Settings
from exmado_tui.docuware.models import Dialog, DownloadResult, FieldInfo
from exmado_tui.docuware.query import Condition, Group
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job
from tests.environment import make_settings
from tests.workbooks import write_workbook
from workers.pipeline import run_job
from workers.runtime import Runtime


@dataclass
class FakeDoc:
    id: int
    fields: dict[str, Any]
    cabinet_id: str = "cab-1"
    body: bytes = b""
    last_modified: datetime | None = None
    content_type: str = "application/pdf"
    section_count: int = 1


@dataclass
class FakeClient:
    """Answers searches from a dict and writes each document's bytes on download."""

    docs: list[FakeDoc]
    latency_s: float = 0.0
    downloads: Counter = field(default_factory=Counter)
    searches: int = 0
    fail_downloads: set[int] = field(default_factory=set)
    down: bool = False  # every request finds DocuWare out of reach
    in_flight: int = 0
    peak_in_flight: int = 0

    async def _answer(self) -> None:
        """Wait the latency as one request in flight (counted, with the peak)."""
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency_s)
        finally:
            self.in_flight -= 1
        if self.down:
            from exmado_tui.docuware.errors import DocuWareNetworkError

            raise DocuWareNetworkError("DocuWare at http://dw.test cannot be reached.")

    async def find_cabinet(self, name: str) -> str:
        return name

    async def dialog(self, cabinet: Any, dialog: Any = None) -> Dialog:
        """A dialog with INVOICE_NO and every field the documents carry (label: title case)."""
        names = sorted({name for doc in self.docs for name in doc.fields} | {"INVOICE_NO"})
        fields = tuple(FieldInfo(name, name.title(), "Text") for name in names)
        return Dialog("search", "Search", str(cabinet), fields, "")

    async def search(
        self,
        cabinet: Any,
        query: Any,
        *,
        dialog: Any = None,
        limit: Any = None,
        max_pages: Any = None,
        permits: Any = None,
    ):
        self.searches += 1
        await self._answer()
        conditions = query.conditions if isinstance(query, Group) else (query,)
        wanted = [(c.field, c.values[0]) for c in conditions if isinstance(c, Condition)]
        combine = any if isinstance(query, Group) and query.operation == "Or" else all
        hits = [d for d in self.docs if combine(str(d.fields.get(k)) == v for k, v in wanted)]
        for doc in hits[:limit] if limit else hits:
            yield doc

    async def download(
        self,
        doc: FakeDoc,
        dest: Path,
        *,
        target: str,
        keep_annotations: bool,
        fsync: bool = True,
        max_mb: float | None = None,
        permits: Any = None,
    ):
        await self._answer()
        if doc.id in self.fail_downloads:
            from exmado_tui.docuware.errors import ServerError

            raise ServerError("DocuWare answered 503 for /FileDownload.", status=503)
        self.downloads[doc.id] += 1
        body = doc.body or f"%PDF document {doc.id}".encode()
        dest.write_bytes(body)
        sha = hashlib.sha256(body).hexdigest()
        return DownloadResult(dest, f"{doc.id}.pdf", "application/pdf", len(body), sha)

    async def aclose(self) -> None:
        return None


def invoice_docs(n: int = 60) -> list[FakeDoc]:
    """Invoices 100001..; every 25th number has two documents."""
    docs = []
    for i in range(1, n + 1):
        number = str(100000 + i)
        supplier = "A/B Corp" if i % 2 else "Müller & Söhne"
        docs.append(
            FakeDoc(
                i,
                {"INVOICE_NO": number, "SUPPLIER": supplier, "DOC_DATE": date(2023, 1 + i % 12, 3)},
            )
        )
        if i % 25 == 0:
            docs.append(
                FakeDoc(
                    1000 + i,
                    {"INVOICE_NO": number, "SUPPLIER": supplier, "DOC_DATE": date(2024, 2, 1)},
                )
            )
    return docs


def host_config(tmp_path: Path, **jobs: Any) -> Path:
    defaults = {"heartbeat_s": 0.2, "stale_after_s": 2, "row_concurrency": 4}
    lines = ["[jobs]"] + [f"{k} = {json.dumps(v)}" for k, v in {**defaults, **jobs}.items()]
    path = tmp_path / "host.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_settings(tmp_path: Path, redis_url: str, store_url: str = "", **jobs: Any) -> Settings:
    """Settings with `jobs` in a host file; the store at `store_url`, else SQLite in tmp_path."""
    store = {"EXMADO_DB_URL": store_url} if store_url else {}
    return make_settings(
        tmp_path, REDIS_URL=redis_url, EXMADO_CONFIG=str(host_config(tmp_path, **jobs)), **store
    )


test_settings.__test__ = False  # a helper, not a test


def workbook(path: Path, keys: list[Any], header: str = "Invoice number") -> Path:
    return write_workbook(path, ([key, "n"] for key in keys), header=(header, "Note"))


class Pipeline:
    def __init__(self, tmp_path: Path, redis_url: str, store_url: str = "", **jobs: Any) -> None:
        self.tmp_path = tmp_path
        self.redis_url = redis_url
        self.store_url = store_url
        self.client = FakeClient(invoice_docs())
        self.configure(**jobs)

    def configure(self, **jobs: Any) -> None:
        self.settings = test_settings(self.tmp_path, self.redis_url, self.store_url, **jobs)
        open_database(self.settings.database_url)
        self.service = JobService(self.settings)
        self.runtime = Runtime.from_settings(self.settings, client_factory=lambda s: self.client)

    def create(self, keys: list[Any], **config: Any) -> str:
        path = workbook(self.tmp_path / "in.xlsx", keys)
        return self.service.create(JobRequest(path, profile="invoices", config=config or None)).id

    def run(self, job_id: str, token: str = "m1", *, last_attempt: bool = False) -> Job:
        """What the JobSlots middleware and the actor do with one message (`last_attempt`:
        the message's last retry)."""
        assert self.runtime.slots.acquire(job_id, token).taken
        try:
            run_job(job_id, self.runtime, token=token, last_attempt=last_attempt)
        finally:
            self.runtime.slots.release(job_id, token)
        return Job.get_by_id(job_id)


def when_rows_done(job_id: str, rows: int, then: Callable[[], None]) -> threading.Thread:
    """Calls `then` in a thread once the job has `rows` rows done (within 60 s): a test that
    wants rows finished before a change waits for them, not for a guess at the time."""

    def later() -> None:
        deadline = time.monotonic() + 60
        while Job.get_by_id(job_id).done_rows < rows and time.monotonic() < deadline:
            time.sleep(0.01)
        then()

    thread = threading.Thread(target=later)
    thread.start()
    return thread


def control_later(
    job_id: str, delay_s: float, after_rows: int = 0, **changes: Any
) -> threading.Thread:
    """Changes the job's columns `delay_s` after it has `after_rows` rows done."""

    def change() -> None:
        time.sleep(delay_s)
        Job.update(**changes).where(Job.id == job_id).execute()

    return when_rows_done(job_id, after_rows, change)
