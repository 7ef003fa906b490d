"""`exmado jobs create --query … --start --wait` with a real worker: the query's documents are
counted, become the job's rows (one a document, its id the key) and are exported, each once."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest

from exmado_tui.job.status import RowStatus
from exmado_tui.store.queries import job_events, job_files, job_rows
from tests.reliability.harness import Exmado


@pytest.mark.slow
def test_a_query_job_exports_every_document_it_finds_once(exmado: Exmado) -> None:
    exmado.start_worker(threads=1)
    output = exmado.tmp_path / "q1"
    created = exmado.cli(
        "jobs", "create", "--query", "Invoices", "DOC_DATE=2021-01-01..2021-01-31",
        "--profile", "invoices", "--output", str(output), "--start", "--wait", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    job = json.loads(created.stdout)
    wanted = {
        str(d.id)
        for d in exmado.sandbox.catalogue.documents("Invoices")
        if dt.date(2021, 1, 1) <= _day(d.value("DOC_DATE")) <= dt.date(2021, 1, 31)
    }
    assert job["status"] == "COMPLETED"
    assert job["config"]["query"]["counted"] == job["total_rows"] == len(wanted) > 0
    rows = job_rows(job["id"], limit=1000)
    assert sorted(r.key for r in rows) == sorted(wanted)
    assert {r.status for r in rows} == {RowStatus.DONE}
    assert {f.document_id for f in job_files(job["id"], limit=1000)} == wanted
    summary = dict(openpyxl.load_workbook(output / "exmado-report.xlsx")["Summary"].values)
    assert summary["Query"] == "query Invoices: DOC_DATE=2021-01-01..2021-01-31"
    events = [e.message for e in job_events(job["id"])]
    assert any(m.startswith(f"Query read: {len(wanted)} documents") for m in events), events


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date()
