"""Benchmark of the sandbox server: searches/s and downloads/s, sequential vs concurrent clients.

Run: .venv/bin/python tests/benchmarks/bench_sandbox.py [--documents N] [--clients 16]

The server runs in its own process (python -m exmado_tui.sandbox), so the clients do not share
its interpreter lock. For 0 ms and 50 ms added latency it measures a sequential single-client
baseline and N concurrent httpx.AsyncClient instances, and prints the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from exmado_tui.sandbox import Catalogue

P = "/DocuWare/Platform"
DIALOG = "76301253-0b28-469d-9388-4e8eef51193a"
Call = Callable[[httpx.AsyncClient], Awaitable[None]]


def start_server(documents: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.sandbox", "--port", "0", "--documents", str(documents)],
        stdout=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline()
    return process, first.split(" on ")[1].strip()


def token(url: str) -> str:
    return httpx.post(
        f"{url}/DocuWare/Identity/connect/token",
        data={
            "grant_type": "password",
            "client_id": "docuware.platform.net.client",
            "scope": "docuware.platform",
            "username": "demo",
            "password": "demo",
        },
    ).json()["access_token"]


def workloads(catalogue: Catalogue) -> dict[str, Call]:
    numbers = itertools.cycle(catalogue.invoice_numbers_with_hits(2000))
    docs = itertools.cycle(catalogue.documents("Invoices")[:5000:7])
    cab = catalogue.invoice_cabinet_id

    async def search(client: httpx.AsyncClient) -> None:
        body = {"Condition": [{"DBName": "INVOICE_NO", "Value": [next(numbers)]}]}
        response = await client.post(
            f"{P}/FileCabinets/{cab}/Query/DialogExpression?dialogId={DIALOG}", json=body
        )
        assert response.status_code == 200 and response.json()["Count"]["Value"] == 1

    async def download(client: httpx.AsyncClient) -> None:
        doc = next(docs)
        response = await client.get(
            f"{P}/FileCabinets/{cab}/Documents/{doc.id}/FileDownload",
            params={"targetFileType": "Auto", "keepAnnotations": "false"},
        )
        assert response.status_code == 200 and len(response.content) > 0

    return {"search": search, "download": download}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    url: str, bearer: str, call: Call, clients: int, per_client: int, pid: int = 0
) -> tuple[float, float]:
    """(requests per second, server CPU ms per request) for clients × per_client calls."""
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
    pool = [httpx.AsyncClient(base_url=url, headers=headers, timeout=30) for _ in range(clients)]
    for client in pool:  # open the connections before timing
        await client.get(f"{P}")

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in range(per_client):
            await call(client)

    started, cpu = time.perf_counter(), cpu_seconds(pid)
    await asyncio.gather(*(worker(c) for c in pool))
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    for client in pool:
        await client.aclose()
    total = clients * per_client
    return total / elapsed, cpu * 1000 / total


async def run(documents: int, clients: int) -> None:
    process, url = start_server(documents)
    try:
        bearer = token(url)
        calls = workloads(Catalogue(42, documents))
        print(f"sandbox {url}, {documents} invoices, {clients} concurrent clients")
        print(
            f"{'workload':<9} {'latency':>8} {'1 client':>12} {f'{clients} clients':>12} "
            f"{'ratio':>7} {'ideal':>6} {'server CPU/req':>15}"
        )
        for latency in (0, 50):
            httpx.post(f"{url}/_sandbox/faults", json={"latency_ms": latency})
            rounds = 400 if latency == 0 else 30
            for name, call in calls.items():
                await measure(url, bearer, call, 1, 10)  # warm-up (indexes, caches)
                single, _ = await measure(url, bearer, call, 1, rounds)
                many, cpu = await measure(url, bearer, call, clients, rounds, process.pid)
                ideal = f"{clients}" if latency else "-"
                print(
                    f"{name:<9} {latency:>6}ms {single:>10.0f}/s {many:>10.0f}/s "
                    f"{many / single:>6.1f}x {ideal:>6} {cpu:>12.2f} ms"
                )
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(run(args.documents, args.clients))


if __name__ == "__main__":
    main()
