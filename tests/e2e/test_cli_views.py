"""The CLI with a real worker: doctor finds everything in place, and a job made with
`jobs create --start --wait` can be read back with `jobs rows`, `files` and `events`."""

from __future__ import annotations

import json

import pytest

from tests.reliability.harness import Exmado


@pytest.mark.slow
def test_doctor_then_a_job_read_back_through_the_cli(exmado: Exmado) -> None:
    drop = exmado.tmp_path / "drop"
    (drop / "invoices").mkdir(parents=True)
    exmado.env["EXMADO_DROP_FOLDER"] = str(drop)
    exmado.start_worker(threads=1)

    doctor = exmado.cli("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert doctor.returncode == 0, doctor.stdout
    assert checks["workers"]["detail"] == "1 alive"

    keys = exmado.sandbox.catalogue.invoice_numbers_with_hits(3)
    book = exmado.workbook("march.xlsx", [*keys, "NO-SUCH-INVOICE"])
    created = exmado.cli("jobs", "create", str(book), "--profile", "invoices", "--start", "--wait")
    assert created.returncode == 1, created.stderr  # wait: 0 only when COMPLETED
    assert "Status:      COMPLETED_WITH_ERRORS" in created.stdout
    assert created.stderr == ""  # not a terminal: no progress line
    job_id = created.stdout.split()[1]

    rows = json.loads(exmado.cli("jobs", "rows", job_id, "--json").stdout)
    assert [r["status"] for r in rows] == ["done", "done", "done", "not_found"]
    missing = json.loads(
        exmado.cli("jobs", "rows", job_id, "--status", "not_found", "--json").stdout
    )
    assert [r["key"] for r in missing] == ["NO-SUCH-INVOICE"]
    files = json.loads(exmado.cli("jobs", "files", job_id, "--json").stdout)
    assert len(files) >= 3 and {f["row_number"] for f in files} == {2, 3, 4}
    events = exmado.cli("jobs", "events", job_id).stdout
    assert "Queued for the workers by " in events
