"""A whole export through real workers and the sandbox: rows, files, report, manifest."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from exmado_tui.output.report import MANIFEST_NAME, REPORT_NAME
from exmado_tui.output.report_sheets import status_word
from exmado_tui.store.models import JobFile, JobRow
from tests.reliability.harness import Exmado


def two_hundred_rows(exmado: Exmado) -> tuple[list, dict[str, str]]:
    """150 single hits, 10 several-hit numbers, 25 unknown numbers, 15 bad or repeated rows."""
    catalogue = exmado.sandbox.catalogue
    singles = catalogue.invoice_numbers_with_hits(150)
    several = catalogue.invoice_numbers_with_several_hits()[:10]
    missing = catalogue.missing_invoice_numbers(25)
    bad = ["#N/A"] * 5 + [[None, "a comment but no number"]] * 5
    repeats = singles[:5]
    keys = [float(k) for k in singles[:50]] + singles[50:] + several + missing + bad + repeats
    expected = {k: "done" for k in singles + several} | {k: "not_found" for k in missing}
    assert len(keys) == 200
    return keys, expected


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_two_hundred_rows_end_with_the_right_states_files_and_report(
    exmado: Exmado, store: str, request: pytest.FixtureRequest
) -> None:
    if store == "postgresql":
        exmado.use_store(request.getfixturevalue("pg_url"))
    keys, expected = two_hundred_rows(exmado)
    exmado.start_worker()
    job_id = exmado.start_job(exmado.workbook("march.xlsx", keys))
    job = exmado.wait(job_id, 90)
    assert job.status.value == "COMPLETED_WITH_ERRORS", exmado.worker_logs()[-3000:]
    rows = list(JobRow.select().where(JobRow.job == job_id).order_by(JobRow.row_number))
    assert len(rows) == 200
    by_key = {r.key: r.status for r in rows if r.duplicate_of is None and r.key in expected}
    assert by_key == expected
    assert sum(r.status == "failed" for r in rows) == 10
    assert sum(r.status == "skipped" for r in rows) == 5
    assert (job.found_rows, job.not_found_rows, job.failed_rows) == (160, 25, 10)

    catalogue = exmado.sandbox.catalogue
    documents = {d.id: d for k in expected for d in catalogue.documents_for("INVOICE_NO", k)}
    out = Path(job.output_dir)
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert on_disk == {e["path"] for e in manifest["files"]} | {MANIFEST_NAME, REPORT_NAME}
    assert {int(e["document_id"]) for e in manifest["files"]} == set(documents)
    for entry in manifest["files"]:
        assert hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
        doc = documents[int(entry["document_id"])]
        year = str(date(1970, 1, 1) + timedelta(milliseconds=doc.value("DOC_DATE")))[:4]
        assert entry["path"].split("/")[1] == year
        assert Path(entry["path"]).name.startswith(doc.values["INVOICE_NO"])
    assert not [p for p in on_disk if p.endswith(".part")]
    assert max(exmado.sandbox.stats.downloads.values()) == 1
    assert JobFile.select().where(JobFile.job == job_id).count() == len(documents)

    sheet = load_workbook(out / REPORT_NAME)["Rows"]
    assert sheet.max_row == 201
    statuses = [sheet.cell(row=i, column=3).value for i in range(2, 202)]
    assert statuses == [status_word(r.status) for r in rows]
