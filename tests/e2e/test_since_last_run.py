"""`exmado jobs create --query … --since-last-run` with a real worker and the sandbox over
HTTP: a second run exports only the documents added or modified since the first, what the
overlap finds again is skipped, and a document modified since is exported again."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import pytest

from exmado_tui.job.status import RowStatus
from exmado_tui.sandbox.data import date_ms
from exmado_tui.store.queries import job_events, job_files, job_rows
from tests.reliability.harness import Exmado
from tests.sandbox_login import sandbox_token

# A month no seeded invoice has (they span six years from 2019): only this test's documents.
MONTH = "DOC_DATE=2031-03-01..2031-03-31"


def _add(exmado: Exmado, day: str) -> str:
    fields = [{"FieldName": "DOC_DATE", "Item": day, "ItemElementName": "Date"}]
    answer = httpx.post(f"{exmado.sandbox.url}/_sandbox/documents", json={"Field": fields})
    answer.raise_for_status()
    return str(answer.json()["Id"])


def _modify(exmado: Exmado, doc_id: str) -> None:
    token = sandbox_token(exmado.sandbox.url)
    cabinet = exmado.sandbox.catalogue.invoice_cabinet_id
    url = f"{exmado.sandbox.url}/DocuWare/Platform/FileCabinets/{cabinet}/Documents/{doc_id}/Fields"
    fields = [{"FieldName": "STATUS", "Item": "Paid", "ItemElementName": "String"}]
    answer = httpx.put(url, json={"Field": fields}, headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()


def _run(exmado: Exmado, output: str) -> dict:
    created = exmado.cli(
        "jobs", "create", "--query", "Invoices", MONTH, "--since-last-run",
        "--profile", "invoices", "--output", str(exmado.tmp_path / output),
        "--start", "--wait", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return dict(json.loads(created.stdout))


@pytest.mark.slow
def test_a_second_run_exports_only_what_was_added_or_modified_since(exmado: Exmado) -> None:
    exmado.start_worker(threads=1)
    two_hours_ago = int(time.time() * 1000) - 2 * 3_600_000
    day = date_ms(dt.date(2031, 3, 1))
    old = str(exmado.sandbox.catalogue.add_invoice({"DOC_DATE": day}, two_hours_ago).id)
    kept, changed = _add(exmado, "2031-03-02"), _add(exmado, "2031-03-03")

    first = _run(exmado, "first")
    assert first["status"] == "COMPLETED"
    assert first["config"]["query"]["since"] is None  # no earlier run: every document
    assert {f.document_id for f in job_files(first["id"], limit=100)} == {old, kept, changed}

    added = _add(exmado, "2031-03-04")
    _modify(exmado, changed)
    second = _run(exmado, "second")

    assert second["status"] == "COMPLETED"
    query = second["config"]["query"]
    assert query["previous"] == first["id"] and query["since"] is not None
    rows = {r.key: r for r in job_rows(second["id"], limit=100)}
    assert set(rows) == {kept, changed, added}  # `old` was stored before the overlap
    # `kept` was stored within the overlap before the first run: found again, not exported.
    assert rows[kept].status is RowStatus.SKIPPED
    assert f"Exported by job {first['id'][:8]} with the same modified date" in rows[kept].error
    assert {rows[changed].status, rows[added].status} == {RowStatus.DONE}
    assert {f.document_id for f in job_files(second["id"], limit=100)} == {changed, added}
    shown = exmado.cli("jobs", "show", second["id"])
    assert f"{MONTH}, modified since " in shown.stdout, shown.stdout
    events = [e.message for e in job_events(second["id"])]
    assert any(e.startswith("Since the last run: documents modified from") for e in events)
