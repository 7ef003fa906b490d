"""Benchmark of the download pipeline against the sandbox over HTTP (prints figures, asserts none).

    .venv/bin/python -m tests.benchmarks.bench_pipeline [--rows 2000] [--baseline-rows 200]

1. 2,000 rows with 50 ms latency per request: rows/s with the shipped defaults (row_concurrency
   16, the shared request budget learning the server's speed from a cold start), the same job
   again (the rate the first learned, as every later job meets it), with the budget off,
   and a sequential baseline in the same run — a plain script over the same sandbox and the
   same client: one search, then one download at a time, row after row — and their ratio.
   The bound is row_concurrency ÷ (requests per row × latency), with the requests per row
   counted by the sandbox (`GET /_sandbox/stats`), not assumed. The baseline runs on fewer
   rows (its rate does not depend on the count) to keep the run short. Each of the three
   jobs' wall time in phases (`Timing`, a transport around the client's): before its first
   request (the worker reads the workbook), its requests, and after its last answer (the
   report): the requests' span against the bound apart from the job's two ends.
2. The same 2,000 rows with no latency: rows/s, requests per row, and CPU time per row of
   this process (the worker: pipeline, loop and store threads) and of the sandbox's process;
   with the budget off (`[docuware] shared_budget = false`), then with the shipped defaults
   (the shared budget learning the server's speed from a cold start): what its Redis round
   trips and pacing cost where the server does not throttle. Run 1 is made with the shipped
   defaults, then with the budget off.
   Beside it, the floor: a bare httpx client making the same recorded requests, 16 at a time,
   and its CPU per row (our goal: at most twice it).
3. Peak memory (max RSS) of this process after those runs.
4. Ingest of a 100,000-row workbook in a fresh process: seconds and peak memory.

The pipeline runs in-process as a worker runs it (`workers.pipeline.run_job` with the real
DocuWare client and the process loop), with a private redis-server for the slot lease.

Measured on the 2-core development VM (sandbox with 5,000 invoices in its own process), all
figures of one run (2026-11-24, second session, at the end of it):

    latency 50 ms per request
    defaults    : 2,000 rows in 7.6 s = 262.3 rows/s (COMPLETED); 1.06 requests per row
    sequential  : 200 rows in 21.1 s = 9.5 rows/s (sequential script); 2.03 requests per row
    ratio       : 27.6x; bound 16 / (1.06 x 50 ms) = 301 rows/s (87% of it)
                  CPU per row: worker 1.83 ms, sandbox 0.39 ms; worker busy 48% of one core
    no latency  : 2,000 rows in 3.6 s = 548 rows/s; 1.06 requests per row
                  CPU per row: worker 1.83 ms (this process), sandbox 0.28 ms (its process)
    peak memory : 76 MB max RSS of the benchmark process
    ingest      : 100,000 rows in 5.9 s (16,911 rows/s); peak RSS 80 MB (76 MB before)

The shared request budget (2026-11-29, the VM loaded by other sessions, one run): no latency,
budget off 119 rows/s and 3.03 ms worker CPU per row; on 127 rows/s and 3.05 ms (+0.7 % CPU).

The learned budget as shipped (2026-12-04 16:19, the VM loaded: load average 6-8, worker CPU
per row 4x the quiet figures above), one run: 50 ms latency, defaults 60.0 rows/s against
budget off 79.1 (76 %: a request slow to be answered during the slow start was taken for the
server holding it, and cut the rate to 18/s), bound 301; no latency, defaults 7.98 ms CPU per
row and budget off 8.97 ms against the bare httpx floor's 4.00 ms (2.0x and 2.2x).

The same VM quiet (load average under 1), 2026-12-05 07:48, one run, after the day's work
(index fields kept per file, the Documents sheet, permits passed explicitly): 50 ms latency,
defaults 193.0 rows/s against budget off 232.8 (83 %), 64 % and 77 % of the bound of 301;
worker busy 58 % of one core. No latency: worker CPU per row 3.93 ms budget off and 4.50 ms
with the defaults, against the bare httpx floor's 1.53 ms (2.6x and 2.9x: above the 2x the
issue asks, and above the 2.0x-2.2x measured 2026-12-04). Ingest of 100,000 rows 10.4 s.

The same evening (21:50, quiet, one run), after a cut restarts the request budget's schedule
and successes are reported as they come: 50 ms latency, defaults 199.9 rows/s from a cold
start (83 % of budget off's 241.3; 66 % of the bound of 301), the next job 251.6 rows/s (104 %
of budget off, 84 % of the bound); worker busy 56 % of one core. No latency: worker CPU per row
3.13 ms with the defaults and 3.60 ms budget off, against the bare httpx floor's 1.50 ms (2.1x
and 2.4x; the budget-off run is the first on that sandbox). Ingest of 100,000 rows 8.9 s.

2026-12-06 00:30 (quiet, one run), after the download pace is checked as chunks arrive and the
folders are fsynced once a batch: 50 ms latency, the next job 204.8 rows/s (68 % of the bound of
302; worker busy 74 % of one core, so on this day's slower VM the bound is out of CPU's reach),
budget off 215.7. No latency, ours and the floor in turns: 1.85x, 2.25x, 2.02x (median 2.02x);
one pair alone swung 2.2x-2.5x between two runs of the same code that day. With every fsync
made 4 ms slower (a slow disk; a script outside the suite, two runs each), 50 ms latency: 79 ->
107-111 rows/s from the folder fsyncs leaving the placer's lock.

2026-12-06 03:50 (quiet, one run; the VM slower again: ingest 11.4 s, the floor 1.75-1.88 ms a
row against 1.45-1.58 ms in a script at 03:00), after header names and templates are cached:
50 ms latency, a cold start 171.5 rows/s, the next job 215.9 (72 % of the bound of 301),
budget off 206.1; worker busy 75 % of one core, 4.36 ms of CPU a row. No latency, ours and the
floor in turns: 2.49x, 3.04x, 2.45x (median 2.49x). In the script at 03:00, six rounds in
turns each, before and after the caches: medians 2.41x and 2.21x, single rounds 1.94x-2.67x.

2026-12-06 06:00 (quiet, one run), after the request budget's slow start waits for room among
the requests out (a server that never throttles stays in it): 50 ms latency, a cold start
186.7 rows/s, the next job 223.6 (74 % of the bound of 301), budget off 236.4 (78 %); worker
busy 58 % of one core, 3.12 ms of CPU a row. No latency: a cold start 243 rows/s (135 in the
run at 05:50, whose room was looked at every 10 ms instead of at each answer); ours and the
floor in turns 2.02x, 1.98x, 1.87x (median 1.98x; 2.32x at 05:50 with the 10 ms looks).

2026-12-06 18:20 (quiet, one run), after the client's transport became httpx over aiohttp and a
row holds its permit only while it searches or downloads (twice as many workers): 50 ms latency,
a cold start 199.7 rows/s, the next job 241.7 (79 % of the bound of 304), budget off 243.3
(80 %); worker busy 59 % of one core, 2.95 ms of CPU a row. No latency: budget off 482 rows/s
(287 at the session's start) and 2.08 ms of CPU a row; ours and httpx's floor in turns 1.54x,
1.64x, 1.49x (median 1.54x; 2.13x at the session's start, before the change); the same bare
loop over the client's transport 0.39-0.42 ms a row.

2026-12-06 21:50 (one run; load average 1.7 from the throttling benchmark just before), after
the slow start's room reads a job's first sends at their own pace: 50 ms latency, a cold
start 198.6 rows/s, the next job 244.4 (80 % of the bound of 305), budget off 251.1 (82 %);
worker busy 54 % of one core. No latency: ours and httpx's floor in turns 1.48x, 1.39x, 1.55x
(median 1.48x). Where the 50 ms job's time goes (a script outside the suite that timed the
permits, three runs of the next job): between the first permit taken and the last given back
the 16 permits are held 96-98 % of the time, but a request holds one 52.6-54.1 ms where the
bound counts 50 (the sandbox's own answer time and the loop's), the job reads its workbook
for 0.2-0.26 s before its first request and writes its report for 0.28-0.34 s after its last
(7 % of a 2,000-row job), and the budget's turn still takes 2.2-2.7 ms a row, most of it in
the job's first second while the room opens.

2026-12-06 23:50 (quiet; the VM slower than at 21:50), HEAD and the code of 21:50 in turns,
after a workbook's rows go in by one prepared INSERT text (`store/bulk.py`) and the feed keeps
8 rows outstanding a request, not 4: 50 ms latency, the next job 246.3 rows/s against 231.5
(79 % and 76 % of the bound of 311 and 305), budget off 251.6 against 233.3, a cold start
200.0 against 186.7; no latency, ours and httpx's floor in turns: median 1.98x against 2.18x
(1.48x at 21:50 on a faster VM); ingest of 100,000 rows 6.2 s against 9.8 s.

2026-12-07 02:07 (one run; the VM slow: worker CPU per row 4.85 ms at 50 ms, the floor 2.2 ms
against 1.5 ms the night before), after the slow start's room also reads the sends of the last
three answer times (`budget.RequestBudget._send_rate`): 50 ms latency, a cold start 177.1
rows/s, the next job 225.0 (73 % of the bound of 310), budget off 230.9 (74 %); no latency,
ours 1.47x httpx's floor (median of three in turns); ingest of 100,000 rows 9.1 s. The change's
own effect, in a script outside the suite the same hour: the room of the next job reaches 15
requests in 0.17 s (0.55 s before) and the job's takes wait 1.9-2.1 s for the budget's lock in
all (4.7-5.5 s before); its rows/s, old and new code in turns, three rounds: medians 229 and
234, single runs 216-246 and 233-249, the VM's drift larger than the change.

2026-12-07 04:25 (one run, just after a run of the suite; the VM slow: ingest 11.7 s, the floor
2.3-3.0 ms a row), with the phases lines and a download's link joined to the server's address
once (`Connection._target`): 50 ms latency, a cold start 194.9 rows/s, the next job 222.9 (72 %
of the bound of 310), budget off 232.1 (75 %). In phases, the next job: 0.18 s reading its
workbook, 8.27 s of requests at 241.9 rows/s (78 % of the bound), 0.52 s writing its report;
budget off: 0.39 s, 7.70 s at 259.7 rows/s (84 %), 0.53 s. No latency: ours 1.58x httpx's floor
(median of three in turns), and 5.4x the same bare loop over the client's own transport
(0.69-0.79 ms a row): most of a row's CPU is the pipeline's own, not the HTTP stack's. At 03:55
(a helper's tests on the machine) the next job's requests ran at 77 % of the bound; in a script
at 04:02, the VM faster (3.0 ms of CPU a row), whole next jobs at 250-253 rows/s (81-82 %).

2026-12-07 12:41 (one run, the VM quiet), after the request budget undoes a cut for a request
answered after all and a slow answer past the peak ends a probe: 50 ms latency, a cold start
204.4 rows/s (66 % of the bound of 309), the next job 257.7 (83 %), budget off 254.4 (82 %).
In phases, the next job: 0.14 s reading its workbook, 7.34 s of requests at 272.6 rows/s (88 %
of the bound), 0.29 s writing its report; budget off 0.20 s, 7.29 s at 274.3 rows/s (89 %),
0.37 s. Worker busy 62 % of one core, 3.04 ms of CPU a row. No latency: ours 1.73x httpx's
floor (median of three in turns: 1.65x, 1.97x, 1.73x); ingest of 100,000 rows 8.7 s.

2026-12-07 20:45 (one run each; the VM at its slowest yet: httpx's floor 3.9-4.3 ms a row,
against 1.5 ms on a quick day, and the worker 81-87 % busy on one core, so every line is bound
by CPU, not by the pipeline's shape), after the request budget's slow start reads its room from
the answers and a probe runs at most 1.25x its answers ahead. 50 ms latency, this code: a cold
start 119.3 rows/s, the next job 139.0, budget off 165.5 (72 % and 84 % of it; 38 %, 45 % and
53 % of the bound of 310); CPU per row 1.35x the floor (median of three in turns). Then the
code before and this one in turns, one round each: the code before a cold start 84 % of budget
off, the next job 92 % (budget off 176.9 rows/s, 1.56x the floor); this code 79 % and 88 %
(budget off 216.8 rows/s, 1.38x the floor): the VM's drift between two runs larger than the
change. The bound's 85 % is out of reach of a VM this slow for the code before as for this.

2026-12-08 01:45 (one run; the VM at its slowest: httpx's floor 3.6-4.1 ms a row, the worker
82 % busy on one core), after the request budget's turns are handed out by one task and its
next send times reserved ahead: 50 ms latency, a cold start 167.4 rows/s, the next job 187.9
(61 % of the bound of 311; 67 % during its requests), budget off 172.4 (56 %); CPU per row
1.26x the floor (median of three in turns). A request's turn on the next job, timed in a
script outside the suite: 1.4-3.3 ms at 50 ms latency, 6-11 ms before (12-36 ms and 1.1-1.4 ms
at 20 ms); on a VM this slow the rows/s are CPU's, not the turns'.

On 2026-12-05, earlier, with the feed's old window of 2 x row_concurrency rows outstanding (and a
batch search outside the permits): 185.5 rows/s, 64 % of the bound, with the worker busy only
a third of one core — the download workers waited for searched rows. A row spends one latency
in its batch search and one in its download, and the next batch forms while one is out, so
the window became 4 x row_concurrency, and 8 x on 2026-12-06
(`workers.pipeline.runner.WINDOW_PER_REQUEST` says why).

A pooled transport of our own (a network backend that kept each socket, and a linear-time
override of httpcore's private `_assign_requests_to_connections`) was measured both ways in one
run (2026-11-29, the 2 cores shared with other work; the two runs in turns, best of two each):
ours 108.3 rows/s, httpx's own 106.0 rows/s (+2 %) at 50 ms, CPU per row 3.97 ms vs 3.90 ms.
Far below the 20 % that would pay for a private API: it went, and httpx's transport is used as
it is (and sniffio is installed, so httpcore's repeated `import sniffio` is a dict lookup).
The same day, after that change: our worker 4.71 ms of CPU per row with no latency, the bare
httpx loop 3.22 ms for the same 2,130 requests: 1.5x the floor.

The VM's speed drifts between sessions: the first session measured 5.1 ms of worker CPU per
row for this code path's predecessor (147 rows/s, so busy ~75 % of one core: partly CPU-bound,
partly the window); this session 1.9 ms for the same work. The "worker busy" line says
whether a figure is bound by CPU (near 100 %) or by the pipeline's shape; compare figures of
one run, not of two.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from openpyxl import Workbook

from exmado_tui.job.new_job import JobRequest
from exmado_tui.services.localredis import RedisServer, free_port

REPO = Path(__file__).resolve().parents[2]
LATENCY_MS = 50
CONCURRENCY = 16
OFF = "shared_budget = false"  # the budget off: each process only waits out its own 429s


class Sandbox:
    """The sandbox in its own process: its URL, request count and CPU seconds so far."""

    def __init__(self, latency_ms: float) -> None:
        self.process, self.url = start_sandbox(latency_ms)

    def requests(self) -> int:
        import httpx

        return int(httpx.get(self.url + "/_sandbox/stats", timeout=10).json()["requests"])

    def cpu(self) -> float:
        """User + system CPU seconds of the sandbox process (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def measured(sandbox: Sandbox, run: Any) -> dict:
    """`run()`'s figures plus the sandbox's requests and CPU seconds during it."""
    requests, cpu = sandbox.requests(), sandbox.cpu()
    figures = run()
    figures["requests"] = sandbox.requests() - requests - 1  # less the stats call itself
    figures["sandbox_cpu"] = sandbox.cpu() - cpu
    return figures


def start_sandbox(latency_ms: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    code = (
        "from exmado_tui.sandbox import FaultSettings, SandboxServer, SandboxConfig;"
        f"SandboxServer(SandboxConfig(port={port}, documents=5000, "
        f"faults=FaultSettings(latency_ms={latency_ms}))).serve_forever()"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/DocuWare/Platform", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the sandbox did not start")


def keys(count: int) -> list[str]:
    from exmado_tui.sandbox.data import Catalogue

    return Catalogue(documents=5000).invoice_numbers_with_hits(count)


def workbook(path: Path, values: list[str]) -> Path:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Invoices")
    sheet.append(["Invoice number", "Comment"])
    for value in values:
        sheet.append([value, "benchmark"])
    book.save(path)
    return path


def settings_for(
    folder: Path, redis_url: str, docuware_url: str, concurrency: int, extra: str = ""
) -> Any:
    from exmado_tui.config.loading import load_settings

    config = folder / "host.toml"
    config.write_text(
        f"[jobs]\nrow_concurrency = {concurrency}\nheartbeat_s = 1\n[docuware]\n{extra}\n"
    )
    env = {
        "EXMADO_DATA_DIR": str(folder / "data"),
        "EXMADO_OUTPUT_ROOT": str(folder / "out"),
        "EXMADO_PROFILES_DIR": str(REPO / "config" / "profiles"),
        "EXMADO_USER_PROFILES_DIR": str(folder / "user-profiles"),
        "EXMADO_CONFIG": str(config),
        "REDIS_URL": redis_url,
        "DOCUWARE_URL": docuware_url,
        "DOCUWARE_PASSWORD": "demo",
    }
    return load_settings(environ=env)


Transports = Callable[[], httpx.AsyncBaseTransport]


def httpx_transport() -> httpx.AsyncBaseTransport:
    """httpx's own transport with the client's connection limits."""
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20, keepalive_expiry=30)
    return httpx.AsyncHTTPTransport(limits=limits)


def client_transport() -> httpx.AsyncBaseTransport:
    """The client's own transport (httpx over aiohttp) with the same limits."""
    from exmado_tui.docuware.transport import AiohttpTransport

    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20, keepalive_expiry=30)
    return AiohttpTransport(verify=True, limits=limits)


def recording_transport() -> httpx.AsyncBaseTransport:
    """The client's transport, as our client uses it, noting each request."""
    return Recording(client_transport())


class Recording(httpx.AsyncBaseTransport):
    """A transport that notes every request (for the bare loop to make them again)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.requests = inner, []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests.append((request.method, str(request.url), dict(request.headers), body))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def timing_transport() -> httpx.AsyncBaseTransport:
    """The client's transport, noting when its first request went and its last was answered."""
    return Timing(client_transport())


class Timing(httpx.AsyncBaseTransport):
    """When the first request went and the last answer came (`time.perf_counter`): a job's
    time before the one is its workbook read; after the other, its report written."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.first = self.last = 0.0

    def phases(self, start: float, end: float) -> dict[str, float]:
        """Seconds from `start` to the first request, and from the last answer to `end`."""
        return {"before": self.first - start, "after": end - self.last}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.first = self.first or time.perf_counter()
        response = await self.inner.handle_async_request(request)
        self.last = time.perf_counter()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def run_pipeline(
    redis_url: str,
    docuware_url: str,
    rows: list[str],
    concurrency: int,
    extra: str = "",
    transport: Transports | None = None,
) -> dict:
    """One job of `rows` through the pipeline; wall seconds, CPU seconds, rows done.

    `extra`: lines of the host file's [docuware] table (none: the shipped defaults).
    `transport`: makes the client's transport (default: the client's own choice).
    """
    from exmado_tui.docuware.budget import process_budget
    from exmado_tui.docuware.client import AsyncDocuWareClient
    from exmado_tui.job.service import JobService
    from exmado_tui.store.db import open_database
    from exmado_tui.store.models import Job
    from workers.pipeline import run_job
    from workers.runtime import Runtime, docuware_client

    folder = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    settings = settings_for(folder, redis_url, docuware_url, concurrency, extra)
    open_database(settings.database_url)
    job = JobService(settings).create(
        JobRequest(workbook(folder / "w.xlsx", rows), profile="invoices")
    )
    made: list[httpx.AsyncBaseTransport] = []

    def client(settings: Any) -> Any:
        if transport is None:
            return docuware_client(settings)
        made.append(transport())
        budget = process_budget(settings.docuware, settings.broker)  # as `docuware_client`
        return AsyncDocuWareClient(settings.docuware, transport=made[-1], budget=budget)

    runtime = Runtime.from_settings(settings, client_factory=client)
    runtime.slots.acquire(job.id, "bench")
    runtime.loop.run(runtime.client())  # sign in before the clock starts
    runtime.loop.run(_login(runtime))
    timing = next((t for t in made if isinstance(t, Timing)), None)
    if timing is not None:
        timing.first = 0.0  # the sign-in before the clock starts is not the job's
    start, cpu = time.perf_counter(), time.process_time()
    run_job(job.id, runtime, token="bench")
    end, cpu = time.perf_counter(), time.process_time() - cpu
    done = Job.get_by_id(job.id)
    runtime.close_client()
    phases = timing.phases(start, end) if timing is not None else {}
    return {
        "wall": end - start, "cpu": cpu, "rows": done.done_rows, "status": done.status,
        "recorded": [r for t in made if isinstance(t, Recording) for r in t.requests], **phases,
    }  # fmt: skip


def run_bare_loop(
    requests: list[tuple], concurrency: int, rows: int, transport: Transports = httpx_transport
) -> dict:
    """The floor: a bare httpx client making the same requests, `concurrency` at a time."""

    async def loop() -> tuple[float, float]:
        pending = iter(requests)
        async with httpx.AsyncClient(transport=transport()) as client:

            async def worker() -> None:
                for method, url, headers, body in pending:
                    await client.request(method, url, headers=headers, content=body)

            wall, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - wall, time.process_time() - cpu

    wall, cpu = asyncio.run(loop())
    return {"wall": wall, "cpu": cpu, "rows": rows, "requests": len(requests)}


def run_sequential(settings_folder: Path, docuware_url: str, rows: list[str]) -> dict:
    """The baseline: a plain script with the same client, one search then its downloads."""
    from exmado_tui.docuware.client import AsyncDocuWareClient
    from exmado_tui.docuware.query import Exact

    folder = Path(tempfile.mkdtemp(prefix="bench-sequential-", dir=settings_folder))
    settings = settings_for(folder, "redis://127.0.0.1:1", docuware_url, 1)

    async def script() -> tuple[float, float, int]:
        async with AsyncDocuWareClient(settings.docuware) as client:
            await client.login()
            cabinet = await client.find_cabinet("Invoices")
            await client.dialog(cabinet)
            wall, cpu = time.perf_counter(), time.process_time()
            for number, key in enumerate(rows):
                async for doc in client.search(cabinet, Exact("INVOICE_NO", key)):
                    await client.download(doc, folder / f"{number}-{doc.id}.pdf", target="PDF")
            return time.perf_counter() - wall, time.process_time() - cpu, len(rows)

    wall, cpu, done = asyncio.run(script())
    return {"wall": wall, "cpu": cpu, "rows": done, "status": "sequential script"}


async def _login(runtime: Any) -> None:
    client = await runtime.client()
    await client.login()


def ingest_100k(count: int, out: multiprocessing.Queue) -> None:
    """In a fresh process: write a workbook of `count` rows, then time its ingest alone."""
    from hashlib import sha256

    from exmado_tui.config.profiles import load_profile
    from exmado_tui.store.db import open_database
    from exmado_tui.store.models import Job
    from workers.pipeline.ingest import ingest

    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    path = workbook(folder / "big.xlsx", [str(1_000_000 + i) for i in range(count)])
    open_database(f"sqlite:///{folder / 'exmado.db'}")
    job = Job.create(
        id="bench", name="big", status="VALIDATING", config={}, workbook_name=path.name,
        workbook_path=str(path), workbook_sha256=sha256(path.read_bytes()).hexdigest(),
        output_dir=str(folder / "out"),
    )  # fmt: skip
    profile = load_profile([REPO / "config" / "profiles"], "invoices")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    got = ingest(job, profile, folder, lambda: None)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put({"rows": got.total, "seconds": seconds, "peak_kb": peak, "before_kb": before})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--baseline-rows", type=int, default=200)
    parser.add_argument("--ingest-rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="of ours and the floor, in turns")
    args = parser.parse_args()
    redis = RedisServer(Path(tempfile.mkdtemp(prefix="bench-redis-"))).start()
    numbers = keys(args.rows)
    scratch = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        slow = Sandbox(LATENCY_MS)
        try:
            timed = partial(run_pipeline, redis.url, slow.url, numbers, CONCURRENCY)
            ours = measured(slow, lambda: timed(transport=timing_transport))
            again = measured(slow, lambda: timed(transport=timing_transport))
            off = measured(slow, lambda: timed(OFF, timing_transport))
            base = measured(
                slow, lambda: run_sequential(scratch, slow.url, numbers[: args.baseline_rows])
            )
        finally:
            slow.stop()
        fast = Sandbox(0)
        try:
            quick = measured(
                fast,
                lambda: run_pipeline(
                    redis.url, fast.url, numbers, CONCURRENCY, OFF, recording_transport
                ),
            )
            ons, bares, unders = [], [], []
            defaults = partial(run_pipeline, redis.url, fast.url, numbers, CONCURRENCY)
            bare = partial(run_bare_loop, quick["recorded"], CONCURRENCY, quick["rows"])
            for _ in range(args.rounds):  # in turns: the VM's speed drifts within a minute
                ons.append(measured(fast, defaults))
                bares.append(bare())
                unders.append(bare(client_transport))
        finally:
            fast.stop()
    finally:
        redis.stop()
    report(ours, again, off, base, quick)
    floor(quick, ons, bares, unders)
    budget_report(quick, ons[0])
    spawn = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = spawn.Queue()
    child = spawn.Process(target=ingest_100k, args=(args.ingest_rows, queue))
    child.start()
    figures = queue.get(timeout=600)
    child.join()
    print(
        f"ingest      : {figures['rows']:,} rows in {figures['seconds']:.1f} s "
        f"({figures['rows'] / figures['seconds']:,.0f} rows/s); peak RSS of that process "
        f"{figures['peak_kb'] / 1024:.0f} MB (before ingest {figures['before_kb'] / 1024:.0f} MB)"
    )


def report(ours: dict, again: dict, off: dict, base: dict, quick: dict) -> None:
    rate = ours["rows"] / ours["wall"]
    again_rate = again["rows"] / again["wall"]
    off_rate = off["rows"] / off["wall"]
    base_rate = base["rows"] / base["wall"]
    per_row = ours["requests"] / ours["rows"]
    bound = CONCURRENCY / (per_row * LATENCY_MS / 1000)
    print(f"latency {LATENCY_MS} ms per request")
    print(f"defaults    : {ours['rows']:,} rows in {ours['wall']:.1f} s = {rate:.1f} rows/s "
          f"({ours['status']}); {per_row:.2f} requests per row; a cold start")  # fmt: skip
    print(f"again       : {again['rows']:,} rows in {again['wall']:.1f} s = {again_rate:.1f} "
          f"rows/s ({again['status']}); the next job, at the rate the first learned")  # fmt: skip
    print(f"budget off  : {off['rows']:,} rows in {off['wall']:.1f} s = {off_rate:.1f} rows/s "
          f"({off['status']}); defaults at {rate / off_rate:.0%} of it, "
          f"again {again_rate / off_rate:.0%}")  # fmt: skip
    print(f"sequential  : {base['rows']:,} rows in {base['wall']:.1f} s = {base_rate:.1f} rows/s "
          f"({base['status']}); {_per_row(base):.2f} requests per row")  # fmt: skip
    print(f"ratio       : {rate / base_rate:.1f}x; bound {CONCURRENCY} / ({per_row:.2f} x "
          f"{LATENCY_MS} ms) = {bound:.0f} rows/s (defaults {rate / bound:.0%} of it, "
          f"again {again_rate / bound:.0%}, budget off {off_rate / bound:.0%})")  # fmt: skip
    for label, figures in (("a cold start", ours), ("the next job", again), ("budget off", off)):
        print(phases_line(label, figures, bound))
    print(f"              CPU per row: worker {_ms(ours, 'cpu')}, "
          f"sandbox {_ms(ours, 'sandbox_cpu')}; worker busy {ours['cpu'] / ours['wall']:.0%} "
          "of one core")  # fmt: skip
    quick_rate = quick["rows"] / quick["wall"]
    print(f"no latency  : {quick['rows']:,} rows in {quick['wall']:.1f} s = {quick_rate:.0f} "
          f"rows/s, budget off; {_per_row(quick):.2f} requests per row")  # fmt: skip
    print(f"              CPU per row: worker {_ms(quick, 'cpu')} (this process), "
          f"sandbox {_ms(quick, 'sandbox_cpu')} (its process)")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory : {peak:.0f} MB max RSS of the benchmark process")


def phases_line(label: str, figures: dict, bound: float) -> str:
    """Where a job's wall time went: its workbook read before the first request, the requests,
    and its report after the last answer; the requests' span against the bound."""
    span = figures["wall"] - figures["before"] - figures["after"]
    rate = figures["rows"] / span
    return (
        f"  phases    : {label}: {figures['before']:.2f} s before the first request (the "
        f"workbook read), {span:.2f} s of requests at {rate:.1f} rows/s ({rate / bound:.0%} of "
        f"the bound), {figures['after']:.2f} s after the last answer (the report)"
    )


def floor(quick: dict, ons: list[dict], bares: list[dict], unders: list[dict]) -> None:
    """Our CPU per row against a bare httpx loop making the same requests, in turns: each
    round's ratio, and their median; and against the same loop over the client's transport."""
    ratios = [on["cpu"] / bare["cpu"] for on, bare in zip(ons, bares, strict=True)]
    rounds = ", ".join(
        f"{_ms(on, 'cpu')} / {_ms(bare, 'cpu')} = {ratio:.2f}x"
        for on, bare, ratio in zip(ons, bares, ratios, strict=True)
    )
    print(f"floor       : bare httpx loop, the same {bares[0]['requests']:,} requests, in turns "
          f"with ours (defaults): {rounds}; median {statistics.median(ratios):.2f}x the floor; "
          f"budget off {_ms(quick, 'cpu')} (its first run, recording the requests)")  # fmt: skip
    ratios = [on["cpu"] / bare["cpu"] for on, bare in zip(ons, unders, strict=True)]
    figures = ", ".join(_ms(bare, "cpu") for bare in unders)
    print(f"              the same loop over the client's transport (httpx over aiohttp): "
          f"{figures}; ours {statistics.median(ratios):.2f}x it (median): what the pipeline "
          "adds to the requests it makes")  # fmt: skip


def budget_report(off: dict, on: dict) -> None:
    """The shared request budget's cost where the server does not throttle."""
    off_rate, on_rate = off["rows"] / off["wall"], on["rows"] / on["wall"]
    print(f"defaults    : {on['rows']:,} rows in {on['wall']:.1f} s = {on_rate:.0f} rows/s "
          f"(the budget learning from a cold start), CPU per row {_ms(on, 'cpu')}; "
          f"budget off (no latency line): {on_rate / off_rate - 1:+.1%} rows/s")  # fmt: skip


def _per_row(figures: dict) -> float:
    return figures["requests"] / figures["rows"]


def _ms(figures: dict, key: str) -> str:
    return f"{figures[key] * 1000 / figures['rows']:.2f} ms"


if __name__ == "__main__":
    main()
