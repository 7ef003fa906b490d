"""Benchmark of the shared request budget against a throttling sandbox (prints, asserts none).

    .venv/bin/python -m tests.benchmarks.bench_throttle [--rows 400] [--rps 20]

The sandbox throttles at `--rps` requests a second per user and, like DocuWare Cloud, answers a
throttled request 429 only after 10 s (Retry-After: 1). Éxmado is not told that rate: a fresh
Redis and the default `[docuware] max_requests_per_s`. Real `exmado worker` processes, real
Redis, the sandbox over HTTP (in this process), the harness of tests/reliability.

1. one worker process, one job of `--rows` rows;
2. four worker processes, four jobs of `--rows / 4` rows each;
   each with the budget on (the default) and off (`max_requests_per_s = 0`, each process only
   waits out its own 429s) in the same run: requests, 429s (%), wall time, ideal time (useful
   requests ÷ the server's rate) and their ratio.
3. the server's limit dropped from 40/s to 10/s mid-job and raised back to 40/s: seconds until
   the budget's rate follows (≤ 12.5/s after the drop, ≥ 32/s after the rise).

Measured on the 2-core development VM (load ~13: other sessions' tests ran beside it), all
figures of one run (2026-11-29, 07:29–07:42):

    1 worker process(es), 1 job(s) of 400 rows:
      budget on  :   436 requests,    6 answered 429 ( 1.4 %), wall  24.6 s, ideal 21.1 s, 1.16x
      budget off :   758 requests,  328 answered 429 (43.3 %), wall 236.9 s, ideal 21.1 s, 11.20x
    4 worker process(es), 4 job(s) of 100 rows:
      budget on  :   446 requests,    6 answered 429 ( 1.3 %), wall  25.1 s, ideal 21.0 s, 1.19x
      budget off :  1404 requests,  949 answered 429 (67.6 %), wall 246.7 s, ideal 21.1 s, 11.72x
    limit 40 → 10/s: rate ≤ 12.5/s after 8.3 s; 10 → 40/s: ≥ 32/s after 22.1 s

The wall time counts from the jobs' start to their end (workers already running), so it
includes validating the workbook, signing in and the cabinet lookups.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

from exmado_tui.docuware.budget_store import read_statuses
from exmado_tui.localredis import RedisServer
from exmado_tui.sandbox import FaultSettings, SandboxConfig, SandboxServer
from exmado_tui.settings import DocuWareSettings
from tests.reliability.harness import Exmado, wait_for

DELAY_MS = 10_000
LATENCY_MS = 20
USEFUL = ("DialogExpression", "Results", "FileDownload", "Document", "SectionData")


def run_jobs(sandbox: SandboxServer, redis_url: str, jobs: int, rows: int, budget: bool) -> dict:
    """`jobs` jobs of `rows` rows on `jobs` worker processes; the sandbox's figures of it."""
    redis.Redis.from_url(redis_url).flushall()  # the rate is unknown: nothing learned yet
    folder = Path(tempfile.mkdtemp(prefix="bench-throttle-"))
    exmado = Exmado(folder, redis_url, sandbox)
    ceiling = DocuWareSettings.max_requests_per_s if budget else 0  # the default, or off
    extra = f"max_requests_per_s = {ceiling}"
    exmado.configure(extra, max_concurrent_jobs=jobs, row_concurrency=16, heartbeat_s=1)
    try:
        for _ in range(jobs):
            exmado.start_worker(threads=1)
        numbers = sandbox.catalogue.invoice_numbers_with_hits(jobs * rows)
        books = [
            exmado.workbook(f"w{i}.xlsx", numbers[i * rows : (i + 1) * rows]) for i in range(jobs)
        ]
        sandbox.stats.reset()
        started = time.monotonic()
        ids = [exmado.start_job(book) for book in books]
        done = [exmado.wait(job_id, 1800) for job_id in ids]
        wall = time.monotonic() - started
    finally:
        exmado.stop_workers()
    stats = sandbox.stats.snapshot()
    useful = sum(stats["by_endpoint"].get(name, 0) for name in USEFUL)
    throttled = int(stats["by_status"].get("429", 0))
    return {
        "requests": stats["requests"],
        "429": throttled,
        "useful": useful - throttled,
        "wall": wall,
        "status": sorted({j.status.value for j in done}),
        "rows": sum(j.done_rows for j in done),
    }


def line(label: str, figures: dict, rps: float) -> str:
    ideal = figures["useful"] / rps
    share = 100 * figures["429"] / max(figures["requests"], 1)
    return (
        f"  {label:<11}: {figures['requests']:>5} requests, {figures['429']:>4} answered 429 "
        f"({share:4.1f} %), wall {figures['wall']:6.1f} s, ideal {ideal:5.1f} s, "
        f"ratio {figures['wall'] / ideal:5.2f}x  [{figures['rows']} rows, {figures['status']}]"
    )


def follow(sandbox: SandboxServer, redis_url: str, rows: int) -> tuple[float | None, float | None]:
    """Seconds until the rate follows a drop 40 → 10/s, then a rise 10 → 40/s, mid-job."""
    sandbox.faults.update(throttle_rps=40)
    client = redis.Redis.from_url(redis_url)
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            statuses = read_statuses(client)
            if statuses:
                samples.append((time.monotonic(), statuses[0].rate))

    sampler = threading.Thread(target=sample, daemon=True)
    result: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: result.update(run_jobs(sandbox, redis_url, 1, rows, True)), daemon=True
    )
    runner.start()
    wait_for(lambda: read_statuses(client), 60, "the budget to appear")
    sampler.start()
    time.sleep(25)
    dropped = time.monotonic()
    sandbox.faults.update(throttle_rps=10)
    time.sleep(35)
    raised = time.monotonic()
    sandbox.faults.update(throttle_rps=40)
    time.sleep(40)
    stop.set()
    runner.join()
    down = next((t - dropped for t, r in samples if t > dropped and r <= 12.5), None)
    up = next((t - raised for t, r in samples if t > raised and r >= 32), None)
    return down, up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--rps", type=float, default=20)
    parser.add_argument("--follow-rows", type=int, default=3000)
    parser.add_argument("--skip-off", action="store_true", help="only the budget-on runs")
    args = parser.parse_args()
    server = RedisServer(Path(tempfile.mkdtemp(prefix="bench-redis-"))).start()
    faults = FaultSettings(
        latency_ms=LATENCY_MS, throttle_rps=args.rps, throttle_delay_ms=DELAY_MS,
        logons_per_min=60, cabinets_per_min=60,
    )  # fmt: skip
    config = SandboxConfig(port=0, documents=5000, faults=faults)
    sandbox = SandboxServer(config)
    sandbox.start()
    print(f"server {args.rps:g} requests/s per user, a throttled request answered 429 after "
          f"{DELAY_MS / 1000:g} s, {LATENCY_MS} ms latency", flush=True)  # fmt: skip
    try:
        for jobs in (1, 4):
            rows = args.rows // jobs
            print(f"{jobs} worker process(es), {jobs} job(s) of {rows} rows:", flush=True)
            on = run_jobs(sandbox, server.url, jobs, args.rows // jobs, True)
            print(line("budget on", on, args.rps), flush=True)
            if not args.skip_off:
                off = run_jobs(sandbox, server.url, jobs, args.rows // jobs, False)
                print(line("budget off", off, args.rps), flush=True)
        down, up = follow(sandbox, server.url, args.follow_rows)
        print(f"limit 40 → 10/s: rate ≤ 12.5/s after {down} s; 10 → 40/s: ≥ 32/s after {up} s")
    finally:
        sandbox.stop()
        server.stop()


if __name__ == "__main__":
    main()
