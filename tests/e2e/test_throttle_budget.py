"""Two real worker processes under a throttling DocuWare share one request budget.

The sandbox throttles per user and holds each throttled request before its 429, as DocuWare
Cloud does (1.5 s here instead of 10, to stay quick). Real `exmado worker` processes, real
Redis; what the sandbox counted, what the store recorded and what `exmado workers` shows.
"""

from __future__ import annotations

import json

import pytest

from exmado_tui.docuware.budget_store import read_statuses
from exmado_tui.store.models import JobEvent
from tests.reliability.harness import Exmado, wait_for

SERVER_RPS = 15
BUDGETED = ""  # the shipped defaults: the rate is learned


def cut_at_most(exmado: Exmado, rate: float) -> bool:
    """Whether the budget was cut, and is at most `rate` now."""
    statuses = read_statuses(exmado.redis)
    return bool(statuses) and statuses[0].last_cut is not None and statuses[0].rate <= rate


def rate_now(exmado: Exmado) -> float:
    statuses = read_statuses(exmado.redis)
    return statuses[0].rate if statuses else 0.0


@pytest.mark.slow
def test_two_workers_share_one_budget_and_few_requests_are_refused(exmado: Exmado) -> None:
    exmado.configure(BUDGETED, row_concurrency=16, max_concurrent_jobs=2)
    exmado.sandbox.faults.update(throttle_rps=SERVER_RPS, throttle_delay_ms=1500)
    numbers = exmado.sandbox.catalogue.invoice_numbers_with_hits(160)
    exmado.start_worker(threads=1)
    exmado.start_worker(threads=1)
    books = [exmado.workbook(f"b{i}.xlsx", numbers[i * 80 : (i + 1) * 80]) for i in range(2)]
    ids = [exmado.start_job(book) for book in books]
    jobs = [exmado.wait(job_id, 120) for job_id in ids]
    exmado.sandbox.faults.update(throttle_rps=0, throttle_delay_ms=0)

    assert [j.status.value for j in jobs] == ["COMPLETED"] * 2, exmado.worker_logs()[-3000:]
    assert {j.worker for j in jobs} == {""}  # released; both workers took part:
    assert exmado.worker_logs().count("Run 1 started on") == 2
    stats = exmado.sandbox.stats
    assert len(stats.downloads) == 160 and set(stats.downloads.values()) == {1}
    # without the budget about half the requests were refused (see bench_throttle)
    assert stats.by_status[429] <= 0.1 * stats.requests
    listed = json.loads(exmado.cli("workers", "--json").stdout)["budgets"]
    assert [b["cap_per_s"] for b in listed] == [None]
    assert 0 < listed[0]["rate_per_s"] <= 2 * SERVER_RPS
    if stats.by_status[429]:
        assert listed[0]["last_cut"] is not None
        slowed = JobEvent.select().where(JobEvent.message.contains("Slowed by DocuWare"))
        over = JobEvent.select().where(JobEvent.message.contains("Throttling over: slowed for"))
        assert slowed.count() >= 1 and over.count() >= 1


@pytest.mark.slow
def test_the_budget_grows_again_after_the_server_allows_more(exmado: Exmado) -> None:
    exmado.configure(BUDGETED, row_concurrency=16)
    exmado.sandbox.faults.update(throttle_rps=8, throttle_delay_ms=1500)
    numbers = exmado.sandbox.catalogue.invoice_numbers_with_hits(400)
    exmado.start_worker(threads=1)
    job_id = exmado.start_job(exmado.workbook("long.xlsx", numbers))
    wait_for(lambda: cut_at_most(exmado, 10), 60, "the budget to be cut and settle near 8/s")
    exmado.sandbox.faults.update(throttle_rps=0)
    wait_for(lambda: rate_now(exmado) > 20, 60, "the rate to grow past 20/s again")
    assert exmado.wait(job_id, 120).status.value == "COMPLETED", exmado.worker_logs()[-3000:]
