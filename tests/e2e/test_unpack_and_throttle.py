"""Multi-section documents unpacked or kept as ZIPs, and a job under a throttling DocuWare.

Real `exmado worker` processes, real Redis, the sandbox over HTTP: what reaches the disk, the
store and the manifest, and what the sandbox saw arrive.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from exmado_tui.output.report import MANIFEST_NAME, REPORT_NAME
from exmado_tui.sandbox import SandboxServer
from exmado_tui.store.models import JobFile, JobRow
from tests.reliability.harness import Exmado

ORIGINAL_UNPACKED = {"format": "original", "unpack_zip": True}
ORIGINAL_AS_ZIP = {"format": "original", "unpack_zip": False}


def multi_section_invoices(sandbox: SandboxServer, n: int) -> list[Any]:
    """n documents with several sections whose invoice number matches only them."""
    catalogue = sandbox.catalogue
    docs = [
        d
        for d in catalogue.multi_section_documents()
        if len(catalogue.documents_for("INVOICE_NO", d.values["INVOICE_NO"])) == 1
    ]
    assert len(docs) >= n
    return docs[:n]


def year_of(doc: Any) -> str:
    return str(date(1970, 1, 1) + timedelta(milliseconds=doc.value("DOC_DATE")))[:4]


def files_of(job: Any) -> tuple[Path, dict[str, dict], set[str]]:
    """The output folder, the manifest's entries by path, and every file on disk."""
    out = Path(job.output_dir)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    entries = {e["path"]: e for e in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    return out, entries, on_disk


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_multi_section_documents_are_unpacked_or_kept_as_zips(exmado: Exmado) -> None:
    docs = multi_section_invoices(exmado.sandbox, 4)
    numbers = [d.values["INVOICE_NO"] for d in docs]
    exmado.start_worker()
    unpacked_id = exmado.start_job(exmado.workbook("unpack.xlsx", numbers), **ORIGINAL_UNPACKED)
    zipped_id = exmado.start_job(exmado.workbook("zipped.xlsx", numbers), **ORIGINAL_AS_ZIP)
    for job_id in (unpacked_id, zipped_id):
        job = exmado.wait(job_id, 30)
        assert job.status.value == "COMPLETED", exmado.worker_logs()[-3000:]
        assert (job.found_rows, job.failed_rows) == (4, 0)
    check_unpacked(exmado.wait(unpacked_id), docs)
    check_zipped(exmado.wait(zipped_id), docs)


def check_unpacked(job: Any, docs: list[Any]) -> None:
    """One file per section, `<name> - <member>`, beside each other in the document's folder."""
    out, entries, on_disk = files_of(job)
    assert on_disk == set(entries) | {MANIFEST_NAME, REPORT_NAME}
    expected = {}
    for doc in docs:
        number = doc.values["INVOICE_NO"]
        for section in doc.sections:
            name = f"{number} - {doc.section_name(section)}"
            expected[name] = (str(doc.id), hashlib.sha256(doc.section_bytes(section)).hexdigest())
    assert sum(len(d.sections) for d in docs) == len(expected) == len(entries)
    by_name = {Path(p).name: p for p in entries}
    assert set(by_name) == set(expected)
    for name, (doc_id, digest) in expected.items():
        path = by_name[name]
        entry = entries[path]
        assert (entry["document_id"], entry["sha256"]) == (doc_id, digest)
        assert sha256(out / path) == digest
        assert (out / path).resolve().is_relative_to(out.resolve())
        doc = next(d for d in docs if str(d.id) == doc_id)
        assert path.split("/")[1] == year_of(doc)
    assert not [p for p in on_disk if p.endswith((".zip", ".part"))]
    stored = JobFile.select().where(JobFile.job == job.id)
    assert {(f.path, f.document_id, f.sha256) for f in stored} == {
        (p, e["document_id"], e["sha256"]) for p, e in entries.items()
    }


def check_zipped(job: Any, docs: list[Any]) -> None:
    """One `<name>.zip` per document holding its sections."""
    out, entries, on_disk = files_of(job)
    assert on_disk == set(entries) | {MANIFEST_NAME, REPORT_NAME}
    assert len(entries) == len(docs)
    for doc in docs:
        [path] = [p for p, e in entries.items() if e["document_id"] == str(doc.id)]
        assert Path(path).name == f"{doc.values['INVOICE_NO']}.zip"
        assert entries[path]["sha256"] == sha256(out / path)
        with zipfile.ZipFile(out / path) as archive:
            assert archive.namelist() == [doc.section_name(s) for s in doc.sections]
            for section in doc.sections:
                assert archive.read(doc.section_name(section)) == doc.section_bytes(section)
    stored = {(f.path, f.sha256) for f in JobFile.select().where(JobFile.job == job.id)}
    assert stored == {(p, e["sha256"]) for p, e in entries.items()}


# -- throttling -------------------------------------------------------------------------------

THROTTLE_RPS = 20
RETRY_AFTER_S = 1.0  # what the sandbox sends with every 429
IN_FLIGHT_S = 0.3  # a request already on its way when the 429 arrived may land this late


class ArrivalLog:
    """Wraps the sandbox's throttle: when each request arrived and whether it was let through.

    With `refuse_nth`, that one arrival is also refused (the sandbox's own 429 with
    Retry-After: 1), as when another client of the same user spent the budget.
    """

    def __init__(self, throttle: Any) -> None:
        self._allow = throttle.allow
        self._lock = threading.Lock()
        self.arrivals: list[tuple[float, bool]] = []
        self.refuse_nth: int | None = None

    def allow(self, key: str, limit: float, window_s: float = 1.0) -> bool:
        allowed = self._allow(key, limit, window_s)
        with self._lock:
            if len(self.arrivals) + 1 == self.refuse_nth:
                allowed = False
            self.arrivals.append((time.monotonic(), allowed))
        return allowed

    def refused(self) -> list[float]:
        return [t for t, allowed in self.arrivals if not allowed]

    def let_through(self) -> int:
        return sum(allowed for _, allowed in self.arrivals)

    def sent_during_waits(self) -> list[tuple[float, float]]:
        """(429 time, arrival) for requests that arrived well inside a Retry-After wait."""
        return [
            (r, t)
            for r in self.refused()
            for t, _ in self.arrivals
            if r + IN_FLIGHT_S < t < r + RETRY_AFTER_S - IN_FLIGHT_S
        ]


@pytest.fixture
def arrivals(exmado: Exmado, monkeypatch: pytest.MonkeyPatch) -> ArrivalLog:
    throttle = exmado.sandbox.state.throttle
    log = ArrivalLog(throttle)
    monkeypatch.setattr(throttle, "allow", log.allow)
    return log


def test_a_throttled_job_waits_for_retry_after_and_ends_with_every_row_once(
    exmado: Exmado, arrivals: ArrivalLog
) -> None:
    """A worker process's own gate, with the shared budget off (on: test_throttle_budget)."""
    exmado.configure("shared_budget = false")
    numbers = exmado.sandbox.catalogue.invoice_numbers_with_hits(60)
    exmado.start_worker()
    exmado.sandbox.stats.reset()
    exmado.sandbox.faults.update(throttle_rps=THROTTLE_RPS)
    started = time.monotonic()
    job = exmado.wait(exmado.start_job(exmado.workbook("throttled.xlsx", numbers)), 30)
    elapsed = time.monotonic() - started
    exmado.sandbox.faults.update(throttle_rps=0)

    assert job.status.value == "COMPLETED", exmado.worker_logs()[-3000:]
    rows = list(JobRow.select().where(JobRow.job == job.id))
    assert sorted(r.key for r in rows) == sorted(numbers)
    assert {r.status for r in rows} == {"done"}
    assert (job.found_rows, job.failed_rows, job.files_count) == (60, 0, 60)
    stats = exmado.sandbox.stats
    assert len(stats.downloads) == 60 and set(stats.downloads.values()) == {1}

    refused = arrivals.refused()
    assert stats.by_status[429] == len(refused) > 0
    assert "throttled (429)" in exmado.worker_logs()
    let_through = arrivals.let_through()
    # the sandbox lets 20 through per second: the job cannot have been quicker than that
    assert elapsed >= let_through / THROTTLE_RPS - 1
    # nothing arrives during a Retry-After wait but requests already on their way
    assert arrivals.sent_during_waits() == []
    # ... so each wait costs only the requests already on their way, not a storm of retries
    assert len(refused) < let_through


def test_one_429_holds_back_every_request_of_the_worker_for_retry_after(
    exmado: Exmado, arrivals: ArrivalLog
) -> None:
    """Rows run eight at a time; one of them is refused once. The others, not refused, wait
    at the client's shared gate too: the sandbox hears nothing until Retry-After has passed."""
    numbers = exmado.sandbox.catalogue.invoice_numbers_with_hits(60)
    exmado.start_worker()
    exmado.sandbox.stats.reset()
    arrivals.refuse_nth = 40  # mid-job: rows are searching and downloading side by side
    job = exmado.wait(exmado.start_job(exmado.workbook("one-429.xlsx", numbers)), 30)

    assert job.status.value == "COMPLETED", exmado.worker_logs()[-3000:]
    assert (job.found_rows, job.failed_rows, job.files_count) == (60, 0, 60)
    assert set(exmado.sandbox.stats.downloads.values()) == {1}
    [refused_at] = arrivals.refused()
    assert exmado.sandbox.stats.by_status[429] == 1
    # the other rows' requests already on their way land; then nothing until Retry-After
    assert arrivals.sent_during_waits() == []
    after = [t - refused_at for t, _ in arrivals.arrivals if t > refused_at]
    assert min(dt for dt in after if dt >= IN_FLIGHT_S) >= RETRY_AFTER_S - 0.05
