"""Benchmark of an export by query against a key job of the same documents (prints, asserts none).

    .venv/bin/python -m tests.benchmarks.bench_query [--documents 25000] [--latency-ms 50]

The sandbox (in this process, over HTTP) holds `--documents` invoices and adds `--latency-ms` to
every request; one real `exmado worker` process (row_concurrency 16, the shipped budget) and a
private Redis. Two jobs, one after the other, each timed from its start to its end:

1. by query: `exmado jobs create --query Invoices DOC_DATE=1900-01-01..` — every invoice, read
   past DocuWare's 10,000 results a search in ranges of document ids, each a row;
2. by key (the baseline): a workbook of the invoice numbers that match one document each.

Printed: rows, seconds, rows/s of each, and their ratio (the issue's target: the query job at
least as fast as the key job), and each job's requests a row by endpoint.

Measured on the 2-core development VM, quiet, 2026-12-05 08:00, one run, `--documents 12000`
(past the 10,000-results cap):

    by query :  12000 rows in   56.4 s =  212.8 rows/s; requests a row: DialogExpression 0.06,
                FileDownload 1.00 (the query read in 12 ranges of ids: about 5 s of it)
    by key   :  10880 rows in   49.9 s =  218.2 rows/s; the same requests a row
    ratio    : the query job at 0.98x the key job's rows/s

The same request counts: the rows of a query job are searched 50 ids at a time as a key job's
50 keys are. (Until that morning the sandbox scanned its cabinet once per `DWDOCID` condition,
which made query jobs look 0.6x as fast; on a loaded machine, one run measured 0.75x.)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from exmado_tui.sandbox import FaultSettings, SandboxConfig, SandboxServer
from exmado_tui.services.localredis import RedisServer
from exmado_tui.store.queries import get_job
from tests.reliability.harness import Exmado


def query_job(exmado: Exmado) -> tuple[int, float]:
    """Rows and seconds of a query job over every invoice."""
    exmado.sandbox.stats.reset()
    started = time.monotonic()
    created = exmado.cli(
        "jobs", "create", "--query", "Invoices", "DOC_DATE=1900-01-01..",
        "--profile", "invoices", "--output", str(exmado.tmp_path / "by-query"), "--start",
        "--json",
    )  # fmt: skip
    if created.returncode != 0:
        raise SystemExit(created.stderr)
    job = exmado.wait(json.loads(created.stdout)["id"], 3600)
    return job.done_rows, time.monotonic() - started


def key_job(exmado: Exmado, sandbox: SandboxServer, rows: int) -> tuple[int, float]:
    """Rows and seconds of a workbook job of invoice numbers with one document each."""
    book = exmado.workbook("keys.xlsx", sandbox.catalogue.invoice_numbers_with_hits(rows))
    sandbox.stats.reset()
    started = time.monotonic()
    job_id = exmado.start_job(book)
    job = exmado.wait(job_id, 3600)
    return get_job(job.id).done_rows, time.monotonic() - started


def line(label: str, rows: int, seconds: float, sandbox: SandboxServer) -> str:
    by = sandbox.stats.snapshot()["by_endpoint"]
    asked = ", ".join(f"{name} {n / rows:.2f}" for name, n in sorted(by.items()) if n >= rows / 100)
    return (
        f"  {label:<9}: {rows:>6} rows in {seconds:6.1f} s = {rows / seconds:6.1f} rows/s; "
        f"requests a row: {asked}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=25_000)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-query-"))
    server = RedisServer(folder / "redis").start()
    faults = FaultSettings(latency_ms=args.latency_ms)
    sandbox = SandboxServer(SandboxConfig(port=0, documents=args.documents, faults=faults))
    sandbox.start()
    exmado = Exmado(folder, server.url, sandbox)
    exmado.configure(row_concurrency=16)
    try:
        exmado.start_worker(threads=1)
        print(f"{args.documents} invoices, {args.latency_ms:g} ms a request, one worker process")
        by_query = query_job(exmado)
        print(line("by query", *by_query, sandbox), flush=True)
        by_key = key_job(exmado, sandbox, by_query[0])
        print(line("by key", *by_key, sandbox), flush=True)
        ratio = (by_query[0] / by_query[1]) / (by_key[0] / by_key[1])
        print(f"  ratio    : the query job at {ratio:.2f}x the key job's rows/s")
    finally:
        exmado.stop_workers()
        sandbox.stop()
        server.stop()


if __name__ == "__main__":
    main()
