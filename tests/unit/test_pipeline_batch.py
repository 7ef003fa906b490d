"""Batched searches of the row engine: each row gets what its own search would answer."""

from __future__ import annotations

import asyncio
import queue
from pathlib import Path
from typing import Any

import pytest

from exmado_tui.config.profiles import Profile
from exmado_tui.docuware.budget import RowPermits
from exmado_tui.docuware.errors import (
    DocuWareNetworkError,
    RefusedAnswerError,
    ServerError,
    ThrottledError,
)
from tests.pipeline_harness import FakeClient, FakeDoc, invoice_docs
from workers.pipeline.files import Placer
from workers.pipeline.rows import RowEngine, RowTask


def engine(client: Any, tmp_path: Path, on_multiple: str = "all") -> RowEngine:
    profile = Profile.from_dict({
        "name": "t", "cabinet": "Invoices", "columns": {"Invoice number": "INVOICE_NO"},
        "on_multiple": on_multiple,
        "templates": {"folder": "", "filename": "{INVOICE_NO}"},
    })  # fmt: skip
    placer = Placer(client, profile, tmp_path, {}, "j1", permits=RowPermits(4))
    return RowEngine(client, profile, placer, queue.Queue())


def tasks(*keys: str) -> list[RowTask]:
    return [RowTask(i, i + 1, key, {"Invoice number": key}) for i, key in enumerate(keys)]


def fail_searches(client: FakeClient, failure: Exception) -> None:
    """Each search of `client` is counted, then fails with `failure`."""

    async def failing(*args: Any, **kwargs: Any):
        client.searches += 1
        raise failure
        yield

    client.search = failing  # type: ignore[method-assign]


def alone(eng: RowEngine, rows: list[RowTask]) -> dict[int, list[int]]:
    return {t.id: [d.id for d in asyncio.run(eng._search(t))] for t in rows}


@pytest.mark.parametrize("policy", ["all", "first", "fail", "newest"])
def test_one_search_answers_every_row_as_its_own_search_would(tmp_path: Path, policy: str) -> None:
    client = FakeClient(invoice_docs(60))
    eng = engine(client, tmp_path, policy)
    rows = tasks("100025", "100003", "999999", "100050", "100003")
    found = asyncio.run(eng.search_batch(rows))
    assert client.searches == 1
    assert {row: [d.id for d in docs] for row, docs in found.items()} == alone(eng, rows)


def test_hits_it_cannot_attribute_send_the_rows_to_their_own_searches(tmp_path: Path) -> None:
    docs = invoice_docs(5) + [FakeDoc(77, {"INVOICE_NO": 100002})]  # a number, not text
    client = FakeClient(docs)

    async def search(cabinet: Any, query: Any, **options: Any):  # the server's view: any hit
        client.searches += 1
        for doc in docs:
            yield doc

    client.search = search  # type: ignore[method-assign]
    assert asyncio.run(engine(client, tmp_path).search_batch(tasks("100001", "100002"))) == {}


def test_a_failed_batch_or_odd_keys_leave_the_rows_to_their_own_searches(tmp_path: Path) -> None:
    client = FakeClient(invoice_docs(5))

    async def broken(*args: Any, **kwargs: Any):
        raise ConnectionError("down")
        yield

    eng = engine(client, tmp_path)
    assert asyncio.run(eng.search_batch(tasks("abc", "ABC", " "))) == {}  # case twins, blank
    client.search = broken  # type: ignore[method-assign]
    assert asyncio.run(eng.search_batch(tasks("100001", "100002"))) == {}


def test_a_batch_search_refused_fails_its_rows_with_its_sentence(tmp_path: Path) -> None:
    """Endless pages or a search page too large: each row's own search would be refused the
    same, so the rows fail with that sentence instead of searching again one by one."""
    client = FakeClient(invoice_docs(5))
    refused = RefusedAnswerError("DocuWare answered 500 MB for a search page.")
    fail_searches(client, refused)
    eng = engine(client, tmp_path)
    rows = tasks("100001", "100002")
    found = asyncio.run(eng.search_batch(rows))
    assert found == {0: refused, 1: refused}
    results = [asyncio.run(eng.process(task, found[task.id])) for task in rows]
    assert [(r.status, r.error) for r in results] == [
        ("failed", "Row 1: DocuWare answered 500 MB for a search page."),
        ("failed", "Row 2: DocuWare answered 500 MB for a search page."),
    ]
    assert client.searches == 1


@pytest.mark.parametrize(
    "failure",
    [
        DocuWareNetworkError("DocuWare at http://dw.test cannot be reached: /Query failed."),
        ServerError("DocuWare answered 503 for /Query.", status=503),
        ThrottledError("DocuWare answered 429 for /Query.", retry_after=60.0, status=429),
    ],
)
def test_a_batch_failed_by_docuware_as_a_whole_fails_its_rows_without_searching_again(
    tmp_path: Path, failure: Exception
) -> None:
    """Out of reach, unavailable or throttling after the batch's retries: each row's own
    search would meet the same after as many retries again. The rows fail at once for that
    passing reason (the runner holds them back, or hands the job back), and none searches on
    its own."""
    client = FakeClient(invoice_docs(5))
    fail_searches(client, failure)
    eng = engine(client, tmp_path)
    serve(eng, tasks("100001", "100002", "100003"))
    results = [eng.results.get_nowait() for _ in range(3)]
    assert client.searches == 1
    assert all(r.retryable and r.status == "failed" for r in results)
    unreachable = isinstance(failure, DocuWareNetworkError)
    assert {r.unreachable for r in results} == {unreachable}
    assert sorted(r.error for r in results)[0] == f"Row 1: {failure}"


def test_a_batch_failed_for_a_reason_of_its_own_leaves_the_rows_to_their_own_searches(
    tmp_path: Path,
) -> None:
    """A 500 (or 408) may be the batch's `Or` of many keys: each row searches on its own."""
    client = FakeClient(invoice_docs(5))
    fail_searches(client, ServerError("DocuWare answered 500 for /Query.", status=500))
    assert asyncio.run(engine(client, tmp_path).search_batch(tasks("100001", "100002"))) == {}


def serve(eng: RowEngine, rows: list[RowTask]) -> None:
    """Queue `rows` (then the end) and run the engine's serve loop over them."""

    async def run() -> None:
        inbox: asyncio.Queue = asyncio.Queue()
        for task in rows:
            inbox.put_nowait(task)
        inbox.put_nowait(None)
        await eng.serve(inbox)

    asyncio.run(run())


def test_the_engine_runs_batched_rows_to_the_same_results(tmp_path: Path) -> None:
    client = FakeClient(invoice_docs(30))
    eng = engine(client, tmp_path)
    serve(eng, tasks(*(str(100001 + i) for i in range(30)), "424242"))
    results: dict[str, Any] = {}
    while not eng.results.empty():
        result = eng.results.get_nowait()
        results[result.task.key] = result
    assert client.searches == 1 and len(results) == 31
    assert results["424242"].status == "not_found"
    assert results["100025"].status == "done" and results["100025"].documents == 2
    assert all(r.status == "done" for k, r in results.items() if k != "424242")


def test_searches_and_downloads_together_stay_within_the_concurrency(tmp_path: Path) -> None:
    client = FakeClient(invoice_docs(60), latency_s=0.01)
    eng = engine(client, tmp_path)  # concurrency 4
    serve(eng, tasks(*(str(100001 + i) for i in range(60))))
    assert client.searches == 2  # 50 + 10 rows: the second search ran beside downloads
    assert client.peak_in_flight == 4
    assert sorted(client.downloads) == sorted(d.id for d in invoice_docs(60))


def test_once_told_to_stop_the_engine_finishes_its_rows_in_flight_and_starts_no_other(
    tmp_path: Path,
) -> None:
    """A pause's grace is for the rows in flight: a row started in it would be cut at its end
    and downloaded again after the resume."""
    client = FakeClient(invoice_docs(60), latency_s=0.05)
    eng = engine(client, tmp_path)  # concurrency 4

    async def run() -> int:
        inbox: asyncio.Queue = asyncio.Queue()
        for task in tasks(*(str(100001 + i) for i in range(60))):
            inbox.put_nowait(task)
        serving = asyncio.create_task(eng.serve(inbox))
        while not client.downloads:
            await asyncio.sleep(0.005)
        eng.stop_taking()
        done = sum(client.downloads.values())  # counted as each ends
        await asyncio.sleep(0.5)  # ten latencies: the 60 rows would have been done
        serving.cancel()
        return done

    done = asyncio.run(run())
    downloads = sum(client.downloads.values())
    assert downloads <= done + eng.workers < 60  # a worker's row, taken before, still ran
    assert eng.results.qsize() == downloads  # and each such row finished
