"""The hostile-input corpus as a user meets it: each input ends with a sentence, memory
bounded, and the same worker goes on serving.

First a child process checks every input as `jobs create` does (most hostile ones end there);
the others become jobs that one real worker process runs in turn. Before each input the peak
resident memory of the process reading it is reset (`/proc/PID/clear_refs`), after it read
(`VmHWM`), so each figure is the input's own; the suite's line carries the highest of the worker
and the slowest input.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import re
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from exmado_tui.errors import WorkbookError
from exmado_tui.output.report import MANIFEST_NAME, REPORT_NAME
from exmado_tui.sandbox import SandboxServer
from exmado_tui.services.localredis import RedisServer
from exmado_tui.store.models import JobRow
from exmado_tui.store.queries import get_job
from tests.environment import REPO
from tests.reliability.harness import Exmado, vm_hwm, wait_for
from tests.reliability.hostile import CASES, Case
from tests.reliability.hostile_http import LOGIN_PAGE, Collector, HostileDocuWare, Lie
from tests.reliability.tally import Tally

MB = 1024 * 1024
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # what no log line may carry
MEMORY_BOUND = 200 * MB
WAIT_S = 60  # how long the test waits; the time an input took is measured and reported
FIGURES: list[str] = []  # one line per input, printed at the end (pytest -s shows them)


class Plant:
    """One installation and one worker process, shared by the whole corpus; the worker talks to
    the sandbox through `docuware`, which lies when a DocuWare case asks it to."""

    def __init__(self, exmado: Exmado, docuware: HostileDocuWare) -> None:
        self.exmado = exmado
        self.docuware = docuware
        self.worker = exmado.start_worker(threads=1, DOCUWARE_URL=docuware.url)
        self.family = self._family()
        self.baseline = max(vm_hwm(p) for p in self.family)

    def _family(self) -> list[int]:
        main = psutil.Process(self.worker.pid)
        return [main.pid, *(c.pid for c in main.children(recursive=True))]

    def reset_peaks(self) -> None:
        for pid in self.family:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := the current RSS

    def peak(self) -> int:
        return max(vm_hwm(pid) for pid in self.family)

    def cpu(self) -> float:
        return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in self.family)

    def serving(self) -> bool:
        return self.worker.poll() is None and self._family() == self.family


@pytest.fixture(scope="module")
def plant(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer, sandbox: SandboxServer
) -> Iterator[Plant]:
    exmado = Exmado(tmp_path_factory.mktemp("hostile"), redis_server.url, sandbox)
    exmado.configure(f"min_rate_window_s = {WINDOW_S}", job_timeout_s=120)
    with HostileDocuWare(sandbox.url) as docuware:
        yield Plant(exmado, docuware)
        exmado.stop_workers()


@pytest.fixture(scope="module")
def corpus(plant: Plant, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every input built, then checked by one child process as `jobs create` checks it; once a
    run, shared by the test processes (building it costs ~15 s of CPU, and the cases spread
    over every process the run has)."""
    shared = _run_folder(tmp_path_factory) / "hostile-corpus.json"
    with open(shared.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait for the first to finish it
        if not shared.exists():
            built = _built_and_checked(plant, tmp_path_factory)
            shared.write_text(json.dumps(built))
    return {
        name: {**r, "path": Path(r["path"])} for name, r in json.loads(shared.read_text()).items()
    }


def _run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's temporary folder, shared by its test processes (pytest-xdist gives each a
    folder of its own inside it)."""
    own = tmp_path_factory.getbasetemp()
    return own.parent if os.environ.get("PYTEST_XDIST_WORKER") else own


def _built_and_checked(
    plant: Plant, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    keys = plant.exmado.sandbox.catalogue.invoice_numbers_with_hits(3)
    paths = {case.name: case.build(tmp_path_factory.mktemp("input"), keys) for case in CASES}
    checked = subprocess.run(
        [sys.executable, "-m", "tests.reliability.read_peak"],
        input=json.dumps([[name, str(path)] for name, path in paths.items()]),
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **plant.exmado.env},
        timeout=300,
        check=True,
    )
    results = [json.loads(line) for line in checked.stdout.splitlines()]
    return {r["name"]: {**r, "path": str(paths[r["name"]])} for r in results}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_hostile_input_ends_in_a_sentence_with_bounded_memory(
    case: Case, plant: Plant, corpus: dict[str, Any], tally: Tally
) -> None:
    checked = corpus[case.name]
    problems = []
    if checked["peak"] > MEMORY_BOUND:
        problems.append(f"checking it took {checked['peak'] / MB:.0f} MB")
    plant.reset_peaks()
    started, cpu = time.monotonic(), plant.cpu()
    if checked["refusal"]:
        problems += _refusal_problems(case, checked["refusal"])
    else:
        problems += _job_problems(case, plant.exmado, checked["path"])
    seconds, cpu = time.monotonic() - started, plant.cpu() - cpu
    peak = plant.peak()
    FIGURES.append(
        f"{case.name:40} create: {checked['cpu']:4.1f} s CPU {checked['peak'] / MB:4.0f} MB"
        + ("" if checked["refusal"] else f" | worker: {cpu:4.1f} s CPU {peak / MB:4.0f} MB")
        + f" | {seconds:4.1f} s"
    )
    if peak > MEMORY_BOUND:
        problems.append(f"the worker reached {peak / MB:.0f} MB")
    if not plant.serving():
        problems.append("the worker stopped serving")
    tally.hostile(case.name, clear=not problems, peak_rss_bytes=peak, seconds=seconds, cpu=cpu)
    assert not problems, f"{case.name}: " + "; ".join(problems)


SEARCH, DOWNLOAD = "/Query/DialogExpression", "/FileDownload"
PDF = "application/pdf"
WINDOW_S = 2  # [docuware] min_rate_window_s here (60 by default): the trickle is cut sooner
OUTPUT_BOUND = 0  # bytes a lie may leave in the output folder, besides report and manifest


def _gzip_bomb() -> Iterator[bytes]:
    """3 GiB of zeros, gzip-compressed as it is sent (about 3 MB on the wire)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    for _ in range(3 * 1024):
        yield packer.compress(bytes(MB)) + packer.flush(zlib.Z_SYNC_FLUSH)
    yield packer.flush()


def _endless() -> Iterator[bytes]:
    return itertools.repeat(bytes(64 * 1024))


def _trickle() -> Iterator[bytes]:
    return itertools.repeat(b"%")


def _huge_search_page() -> Iterator[bytes]:
    """500 MB of search results."""
    item = b'{"Id": 1, "Title": "' + b"x" * 1000 + b'", "Fields": []},'
    yield b'{"Items": ['
    for _ in range(500 * MB // (len(item) * 64)):
        yield item * 64
    yield b'{"Id": 1}]}'


def _pages(count: dict[str, Any]) -> bytes:
    """A result page declaring `count` whose `next` leads to itself, for ever."""
    href = "/DocuWare/Platform/FileCabinets/x/Query/Results/endless"
    page = {
        "Count": count,
        "Items": [{"Id": 1, "Fields": []}],
        "Links": [{"rel": "next", "href": href}],
    }
    return json.dumps(page).encode()


LIES = {
    "DocuWare search answers broken JSON": (
        Lie(SEARCH, "application/json", b'{"Items": [{"Id": 1, "Fie'),
        "other than JSON",
    ),
    "DocuWare search answers an HTML login page": (
        Lie(SEARCH, "text/html", LOGIN_PAGE),
        "other than JSON",
    ),
    "DocuWare search answers XML": (
        Lie(SEARCH, "application/xml", b"<?xml version='1.0'?><DocumentsQueryResult/>"),
        "other than JSON",
    ),
    "DocuWare download answers an HTML login page": (
        Lie(DOWNLOAD, "text/html; charset=utf-8", LOGIN_PAGE),
        "with an HTML page (a sign-in page of a proxy",
    ),
    "DocuWare download answers a PNG for a PDF": (
        Lie(DOWNLOAD, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(64)),
        "with 'image/png', not the document",
    ),
    "DocuWare download is a 3 GiB gzip bomb": (
        Lie(DOWNLOAD, PDF, headers=(("Content-Encoding", "gzip"),), chunks=_gzip_bomb),
        "for a document DocuWare declared as",
    ),
    "DocuWare download never ends": (
        Lie(DOWNLOAD, PDF, chunks=_endless),
        "for a document DocuWare declared as",
    ),
    "DocuWare download trickles 10 bytes/s": (
        Lie(DOWNLOAD, PDF, chunks=_trickle, pace_s=0.1),
        "under the floor of 1 KB/s",
    ),
    "DocuWare search answers 500 MB": (
        Lie("/Query/", "application/json", chunks=_huge_search_page),
        "DocuWare answered more than 8.0 MB for a search page",
    ),
    "DocuWare search declares 10,000,000 hits and pages for ever": (
        Lie("/Query/", "application/json", _pages({"Value": 10_000_000, "HasMore": False})),
        "more than 10 result pages of 1 for the 10,000,000 hits it declared",
    ),
    "DocuWare search pages for ever (HasMore)": (
        Lie("/Query/", "application/json", _pages({"Value": 1, "HasMore": True})),
        "more than 10 result pages of 1 for one search",
    ),
}
# At most this many requests answered with the lie: the pages a search may follow.
MOST_LIED = {
    "DocuWare search declares 10,000,000 hits and pages for ever": 1 + 3,
    "DocuWare search pages for ever (HasMore)": 1 + 3 * 10,
}


@pytest.mark.parametrize("name", list(LIES))
def test_docuware_answering_nonsense_fails_the_rows_with_a_sentence(
    name: str, plant: Plant, tally: Tally
) -> None:
    lie, piece = LIES[name]
    keys = plant.exmado.sandbox.catalogue.invoice_numbers_with_hits(3)
    plant.reset_peaks()
    started, cpu = time.monotonic(), plant.cpu()
    plant.docuware.lie, lied = lie, plant.docuware.lied
    try:
        job = plant.exmado.wait(
            plant.exmado.start_job(plant.exmado.workbook("k.xlsx", keys)), WAIT_S
        )
    finally:
        plant.docuware.lie = None
    seconds, cpu, peak = time.monotonic() - started, plant.cpu() - cpu, plant.peak()
    sentences = [r.error for r in JobRow.select().where(JobRow.job == job.id)] + [job.last_error]
    lied = plant.docuware.lied - lied
    problems = [] if lied else ["the lie was never asked for"]
    if lied > MOST_LIED.get(name, lied):
        problems.append(f"asked {lied} times, more than {MOST_LIED[name]}")
    if job.status.value not in ("COMPLETED_WITH_ERRORS", "FAILED") or job.files_count:
        problems.append(f"ended {job.status.value} with {job.files_count} files")
    if (written := _written(Path(job.output_dir))) > OUTPUT_BOUND:
        problems.append(f"{written:,} bytes left in the output folder")
    if peak > MEMORY_BOUND:
        problems.append(f"the worker reached {peak / MB:.0f} MB")
    if not any(piece in s for s in sentences):
        problems.append(f"no sentence says {piece!r}: {sentences}")
    if any("\n" in s or "Traceback" in s for s in sentences):
        problems.append(f"not one sentence each: {sentences}")
    FIGURES.append(f"{name:48} worker: {cpu:4.1f} s CPU {peak / MB:4.0f} MB | {seconds:4.1f} s")
    tally.hostile(name, clear=not problems, peak_rss_bytes=peak, seconds=seconds, cpu=cpu)
    assert not problems, f"{name}: " + "; ".join(problems)


def test_one_trickling_download_holds_no_other_row(plant: Plant, tally: Tally) -> None:
    """One document trickles: the other rows are filed while it is still pending; it is cut,
    tried once more, then fails with its sentence."""
    keys = plant.exmado.sandbox.catalogue.invoice_numbers_with_hits(3)
    slow = plant.exmado.sandbox.catalogue.documents_for("INVOICE_NO", keys[0])[0].id
    plant.reset_peaks()
    started, cpu = time.monotonic(), plant.cpu()
    plant.docuware.lie = Lie(f"/Documents/{slow}/FileDownload", PDF, chunks=_trickle, pace_s=0.1)
    try:
        job_id = plant.exmado.start_job(plant.exmado.workbook("one-slow.xlsx", keys))
        wait_for(lambda: get_job(job_id).found_rows == 2, WAIT_S, "the two other rows")
        first = JobRow.get((JobRow.job == job_id) & (JobRow.row_number == 2))
        job = plant.exmado.wait(job_id, WAIT_S)
    finally:
        plant.docuware.lie = None
    seconds, cpu, peak = time.monotonic() - started, plant.cpu() - cpu, plant.peak()
    first_now = JobRow.get((JobRow.job == job_id) & (JobRow.row_number == 2))
    problems = [] if first.status == "pending" else [f"the slow row was {first.status} first"]
    if (job.files_count, first_now.status) != (2, "failed"):
        problems.append(f"{job.files_count} files, the slow row {first_now.status}")
    if "under the floor of 1 KB/s" not in first_now.error:
        problems.append(f"the slow row says {first_now.error!r}")
    FIGURES.append(f"{'one trickling download':48} worker: {cpu:4.1f} s CPU {peak / MB:4.0f} MB")
    tally.hostile(
        "one trickling download", clear=not problems, peak_rss_bytes=peak, seconds=seconds, cpu=cpu
    )
    assert not problems, "; ".join(problems)


def test_a_link_to_another_server_gets_no_credentials(plant: Plant, tally: Tally) -> None:
    """Search results whose `fileDownload` leads to another host:port: the rows fail with a
    sentence, and that server gets no request (so no token) and nothing is filed."""
    keys = plant.exmado.sandbox.catalogue.invoice_numbers_with_hits(3)
    with Collector() as elsewhere:
        plant.docuware.rewrite = ("/Query/", _links_to(elsewhere.url))
        try:
            job = plant.exmado.wait(
                plant.exmado.start_job(plant.exmado.workbook("elsewhere.xlsx", keys)), WAIT_S
            )
        finally:
            plant.docuware.rewrite = None
    errors = [r.error for r in JobRow.select().where(JobRow.job == job.id)]
    problems = [f"{elsewhere.url} got {elsewhere.requests}"] if elsewhere.requests else []
    if job.files_count or len(errors) != 3:
        problems.append(f"{job.files_count} files filed, {len(errors)} rows")
    if not all(f"to {elsewhere.url}, not to the configured server" in e for e in errors):
        problems.append(f"the rows do not say where the link led: {errors}")
    tally.security("DocuWare links a download to another server", held=not problems)
    assert not problems, "; ".join(problems)


def _links_to(elsewhere: str) -> Callable[[bytes], bytes]:
    """A search answer whose documents' `fileDownload` links are absolute, on `elsewhere`."""

    def rewrite(body: bytes) -> bytes:
        page = json.loads(body)
        for item in page.get("Items", []):
            for link in item.get("Links", []):
                if link.get("rel") == "fileDownload":
                    link["href"] = elsewhere + link["href"]
        return json.dumps(page).encode()

    return rewrite


def test_the_worker_that_took_the_corpus_still_exports(plant: Plant, tally: Tally) -> None:
    keys = plant.exmado.sandbox.catalogue.invoice_numbers_with_hits(3)
    job_id = plant.exmado.start_job(plant.exmado.workbook("after.xlsx", keys))
    job = plant.exmado.wait(job_id, WAIT_S)
    assert (job.status.value, job.files_count) == ("COMPLETED", 3)
    assert plant.serving()
    raw = RAW_CONTROL.findall(plant.exmado.worker_logs())
    assert not raw, f"the worker logged raw control characters: {sorted(set(raw))}"
    print(f"\nworker at rest {plant.baseline / MB:.0f} MB; each input's CPU and peak memory:")
    print(*FIGURES, sep="\n")


def _written(output: Path) -> int:
    """Bytes in the output folder besides the report and manifest (partial files included)."""
    kept = {REPORT_NAME, MANIFEST_NAME}
    return sum(p.stat().st_size for p in output.rglob("*") if p.is_file() and p.name not in kept)


def _job_problems(case: Case, exmado: Exmado, path: Path) -> list[str]:
    """What is wrong with how this input's job ended (empty when it ended as it should)."""
    try:
        job_id = exmado.start_job(path)
    except WorkbookError as exc:
        return [f"refused by this process, not by the child: {exc}"]
    job = exmado.wait(job_id, WAIT_S)
    if case.refusal:
        if job.status.value != "FAILED":
            return [f"ended {job.status.value}, not refused"]
        return _refusal_problems(case, job.last_error)
    return _row_problems(case, job)


def _refusal_problems(case: Case, sentence: str) -> list[str]:
    if not case.refusal:
        return [f"refused: {sentence}"]
    problems = []
    if case.refusal not in sentence:
        problems.append(f"the sentence does not say {case.refusal!r}: {sentence}")
    if "\n" in sentence or "Traceback" in sentence or not sentence.endswith("."):
        problems.append(f"not one sentence: {sentence!r}")
    return problems


def _row_problems(case: Case, job: object) -> list[str]:
    job = get_job(job.id)  # type: ignore[attr-defined]
    rows = list(JobRow.select().where(JobRow.job == job.id))
    failed = [r for r in rows if r.status == "failed"]
    problems = []
    if job.status.value not in ("COMPLETED", "COMPLETED_WITH_ERRORS"):
        problems.append(f"ended {job.status.value}: {job.last_error}")
    if (len(rows), job.total_rows) != (case.rows, case.rows):
        problems.append(f"{len(rows)} rows stored, {job.total_rows} counted, not {case.rows}")
    if len(failed) != case.failed or any(case.failure not in r.error for r in failed):
        problems.append(f"failed rows: {[r.error for r in failed]}")
    output = Path(job.output_dir)
    if not (output / REPORT_NAME).is_file() or not (output / MANIFEST_NAME).is_file():
        problems.append("no report or manifest")
    outside = [p for p in output.rglob("*") if not p.resolve().is_relative_to(output.resolve())]
    if outside:
        problems.append(f"files outside the output folder: {outside}")
    return problems
