"""The report workbook and the manifest, built from the store."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook

from exmado_tui.models import Job, JobFile, JobRow
from exmado_tui.report import MANIFEST_NAME, REPORT_NAME, write_report


def seed_job(tmp_path: Path) -> str:
    Job.create(
        id="j1",
        name="March",
        status="COMPLETED_WITH_ERRORS",
        config={},
        workbook_name="w.xlsx",
        workbook_path=str(tmp_path / "w.xlsx"),
        workbook_sha256="0" * 64,
        output_dir=str(tmp_path / "out"),
    )
    done = JobRow.create(
        job="j1", row_number=2, key="100001", values={}, status="done", documents=1
    )
    JobRow.create(job="j1", row_number=3, key='=HYPERLINK("x")', values={}, status="not_found")
    JobRow.create(job="j1", row_number=4, key="-5", values={}, status="failed", error="@bad cell")
    dup = JobRow.create(job="j1", row_number=5, key="100001", values={}, status="done", documents=1)
    for row in (done, dup):
        JobFile.create(
            job="j1",
            row=row,
            document_id="17",
            cabinet_id="c",
            path="A/100001.pdf",
            size=3,
            sha256="ab" * 32,
        )
    return "j1"


def test_report_has_one_line_per_row_and_formulas_stay_text(store, tmp_path: Path) -> None:
    paths = write_report(seed_job(tmp_path))
    assert paths.report == tmp_path / "out" / REPORT_NAME
    sheet = load_workbook(paths.report)["Rows"]
    lines = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [line[:3] for line in lines] == [
        [2, "100001", "done"],
        [3, '=HYPERLINK("x")', "not_found"],
        [4, "-5", "failed"],
        [5, "100001", "done"],
    ]
    assert lines[0][4] == "A/100001.pdf" and lines[2][5] == "@bad cell"
    assert sheet["B3"].data_type == "s" and sheet["B3"].quotePrefix
    assert sheet["F4"].data_type == "s"
    assert not list((tmp_path / "out").glob("*.exmado-part"))


def test_manifest_lists_each_file_once_with_its_rows(store, tmp_path: Path) -> None:
    paths = write_report(seed_job(tmp_path))
    manifest = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert paths.manifest.name == MANIFEST_NAME
    assert manifest["job"] == "j1"
    assert manifest["files"] == [
        {
            "path": "A/100001.pdf",
            "size": 3,
            "sha256": "ab" * 32,
            "cabinet_id": "c",
            "document_id": "17",
            "rows": [2, 5],
        }
    ]


def test_rebuilding_replaces_the_previous_report(store, tmp_path: Path) -> None:
    job_id = seed_job(tmp_path)
    write_report(job_id)
    JobRow.update(status="done", error="").where(JobRow.row_number == 4).execute()
    sheet = load_workbook(write_report(job_id).report)["Rows"]
    assert sheet["C4"].value == "done"


def test_control_characters_in_a_key_are_written_visibly_in_report_and_manifest(
    store, tmp_path: Path
) -> None:
    job_id = seed_job(tmp_path)
    Job.update(name="March\x1b[31m").where(Job.id == job_id).execute()
    JobRow.create(
        job=job_id, row_number=6, key="INV\x00-1\x07", values={}, status="failed", error="x\x0b"
    )
    paths = write_report(job_id)
    sheet = load_workbook(paths.report)["Rows"]
    assert [sheet["B6"].value, sheet["F6"].value] == ["INV\\x00-1\\x07", "x\\x0b"]
    manifest = paths.manifest.read_text(encoding="utf-8")
    assert json.loads(manifest)["name"] == "March\\x1b[31m"
    assert not any(c in manifest for c in "\x00\x07\x0b\x1b")


def test_a_long_report_calls_back_between_chunks_of_rows(store, tmp_path: Path) -> None:
    from exmado_tui.report import CHUNK

    job_id = seed_job(tmp_path)
    rows = [
        {"job": job_id, "row_number": n, "key": f"K{n}", "values": {}, "status": "done"}
        for n in range(10, 10 + 2 * CHUNK)
    ]
    JobRow.insert_many(rows).execute()
    ticks: list[int] = []
    write_report(job_id, tick=lambda: ticks.append(1))
    assert len(ticks) >= 2
