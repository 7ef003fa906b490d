"""Every index field as data, end to end: a real worker exports from the sandbox over HTTP
with `metadata = ["json", "csv"]`; the Documents sheet holds DocuWare's fields in their types,
each file has its sidecar, index.csv a line per file, and `exmado jobs verify` finds all `=`."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from exmado_tui.output.report import INDEX_NAME, MANIFEST_NAME, REPORT_NAME
from tests.cli_runner import run
from tests.reliability.harness import Exmado


@pytest.mark.slow
def test_a_worker_exports_every_index_field_as_sheet_sidecars_and_csv(
    exmado: Exmado, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in exmado.env.items():
        monkeypatch.setenv(name, value)  # the CLI in this process sees the same installation
    keys = exmado.sandbox.catalogue.invoice_numbers_with_hits(4)
    exmado.start_worker(threads=1)
    job_id = exmado.start_job(exmado.workbook("fields.xlsx", keys), metadata=["json", "csv"])
    job = exmado.wait(job_id, 60)
    exmado.stop_workers()
    assert job.status.value == "COMPLETED", exmado.worker_logs()[-3000:]
    out = Path(job.output_dir)

    sheet = load_workbook(out / REPORT_NAME)["Documents"]
    header = [c.value for c in sheet[1]]
    assert {"INVOICE_NO", "SUPPLIER", "DOC_DATE", "AMOUNT"} <= set(header)
    lines = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert sorted(line["INVOICE_NO"].value for line in lines) == sorted(keys)
    for line in lines:
        assert line["DOC_DATE"].is_date and isinstance(line["DOC_DATE"].value, datetime)
        assert line["AMOUNT"].data_type == "n"
        assert line["Content type"].value and line["Path"].value.endswith(".pdf")

    files = sorted(p for p in out.rglob("*.pdf"))
    for path in files:
        sidecar = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
        assert sidecar["cabinet"] == "Invoices" and sidecar["file"] == path.name
        assert sidecar["fields"]["INVOICE_NO"] in keys
    with (out / INDEX_NAME).open(encoding="utf-8-sig", newline="") as reader:
        table = list(csv.DictReader(reader))
    assert sorted(line["Path"] for line in table) == sorted(
        p.relative_to(out).as_posix() for p in files
    )
    manifest = (out / MANIFEST_NAME).read_text(encoding="utf-8")
    assert manifest.count('"metadata_of"') == len(files) + 1

    code, said, _ = run(capsys, "jobs", "verify", job_id[:8])
    assert code == 0, said
    marks = [line[0] for line in said.splitlines() if line[:2] in ("= ", "* ", "- ", "+ ")]
    assert marks == ["="] * (2 * len(files) + 1)
