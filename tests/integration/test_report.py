"""The report workbook and the manifest, built from the store, read back with openpyxl."""

from __future__ import annotations

import errno
import gc
import json
import re
import shutil
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from exmado_tui.output.report import MANIFEST_NAME, REPORT_NAME, write_report
from exmado_tui.store.models import Job, JobFile, JobRow

UTC = ZoneInfo("UTC")
INJECTION = "=cmd|' /C calc'!A0"
LINK = re.compile(r'^=HYPERLINK\("((?:[^"]|"")*)","((?:[^"]|"")*)"\)$')


def seed_job(tmp_path: Path) -> str:
    Job.create(
        id="j1",
        name="March",
        status="COMPLETED_WITH_ERRORS",
        config={"cabinet": "Invoices", "columns": {"invoice": "INVOICE_NO"}},
        workbook_name="w.xlsx",
        workbook_path=str(tmp_path / "w.xlsx"),
        workbook_sha256="0" * 64,
        output_dir=str(tmp_path / "out"),
        created_at=datetime(2026, 12, 4, 13, 26),
    )
    asked = {"Invoice": "100001", "Requested by": "Ana Reyes", "Note": INJECTION}
    done = JobRow.create(
        job="j1", row_number=2, key="100001", values=asked, status="done", documents=1
    )
    JobRow.create(job="j1", row_number=3, key='=HYPERLINK("x")', values={}, status="not_found")
    JobRow.create(job="j1", row_number=4, key="-5", values={}, status="failed", error="@bad cell")
    dup = JobRow.create(job="j1", row_number=5, key="100001", values={}, status="skipped")
    for row in (done, dup):
        add_file(row, "A/100001.pdf")
    return "j1"


def add_file(row: JobRow, path: str) -> None:
    JobFile.create(
        job=row.job,
        row=row,
        document_id="17",
        cabinet_id="c",
        path=path,
        size=3,
        sha256="ab" * 32,
        modified_at=datetime(2026, 11, 30, 9, 15),
    )
    on_disk = Path(row.job.output_dir) / path
    on_disk.parent.mkdir(parents=True, exist_ok=True)
    on_disk.write_bytes(b"%PDF")


def rows_sheet(tmp_path: Path) -> Worksheet:
    return load_workbook(write_report(seed_job(tmp_path), UTC).report)["Rows"]


def lines(sheet: Worksheet) -> list[list[object]]:
    return [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]


def test_report_has_one_line_per_row_in_words_and_formulas_stay_text(store, tmp_path: Path) -> None:
    paths = write_report(seed_job(tmp_path), UTC)
    assert paths.report == tmp_path / "out" / REPORT_NAME
    sheet = load_workbook(paths.report)["Rows"]
    assert [line[:3] for line in lines(sheet)] == [
        [2, "100001", "Found"],
        [3, '=HYPERLINK("x")', "Not found"],
        [4, "-5", "Failed"],
        [5, "100001", "Skipped"],
    ]
    assert sheet["E2"].value == "A/100001.pdf" and sheet["G4"].value == "@bad cell"
    assert sheet["B3"].data_type == "s" and sheet["B3"].quotePrefix
    assert sheet["G4"].data_type == "s"
    assert not list((tmp_path / "out").glob("*.exmado-part"))


def test_header_is_frozen_filtered_and_columns_have_widths(store, tmp_path: Path) -> None:
    sheet = rows_sheet(tmp_path)
    header = [c.value for c in sheet[1]]
    assert header[:8] == [
        "Row",
        "Key",
        "Status",
        "Documents",
        "Files",
        "Open",
        "Error",
        "Duplicate of row",
    ]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:J5"
    assert sheet["A1"].font.bold
    widths = {c: sheet.column_dimensions[c].width for c in "ACEGI"}
    assert widths == {"A": 7, "C": 13, "E": 48, "G": 60, "I": len("Requested by") + 2}


def test_the_workbooks_other_columns_ride_beside_each_row_as_text(store, tmp_path: Path) -> None:
    sheet = rows_sheet(tmp_path)
    assert [c.value for c in sheet[1]][8:] == ["Requested by", "Note"]  # not the key's
    assert [line[8:] for line in lines(sheet)] == [
        ["Ana Reyes", INJECTION],
        [None, None],
        [None, None],
        [None, None],
    ]
    assert sheet["J2"].data_type == "s" and sheet["J2"].quotePrefix  # not a formula


def test_a_header_from_the_workbook_stays_text(store, tmp_path: Path) -> None:
    job_id = seed_job(tmp_path)
    JobRow.update(values={"Invoice": "1", INJECTION: "x"}).where(JobRow.row_number == 3).execute()
    sheet = load_workbook(write_report(job_id, UTC).report)["Rows"]
    assert sheet["K1"].value == INJECTION and sheet["K1"].data_type == "s"


def test_links_are_relative_and_open_their_files_after_the_folder_moved(
    store, tmp_path: Path
) -> None:
    job_id = seed_job(tmp_path)
    row = JobRow.get(JobRow.row_number == 2)
    add_file(row, 'B/Müller "&" Söhne 100001.pdf')
    write_report(job_id, UTC)
    moved = shutil.move(tmp_path / "out", tmp_path / "handed-on")
    sheet = load_workbook(Path(moved) / REPORT_NAME)["Rows"]
    links = {r: LINK.match(str(sheet[f"F{r}"].value)) for r in range(2, 6)}
    assert links[3] is None and links[4] is None  # no file, no link
    targets = {r: m.group(1).replace('""', '"') for r, m in links.items() if m}
    assert targets == {2: "A/100001.pdf", 5: "A/100001.pdf"}
    assert all((Path(moved) / target).is_file() for target in targets.values())
    assert links[2] and links[2].group(2) == "100001.pdf (+1)"  # two files, the first linked
    assert sheet["E2"].value == 'A/100001.pdf\nB/Müller "&" Söhne 100001.pdf'


def test_a_path_excel_cannot_follow_gets_no_link(store, tmp_path: Path) -> None:
    job_id = seed_job(tmp_path)
    row = JobRow.get(JobRow.row_number == 3)
    add_file(row, "A/INV#3.pdf")  # Excel would read "#3.pdf" as a place in the file
    sheet = load_workbook(write_report(job_id, UTC).report)["Rows"]
    assert sheet["E3"].value == "A/INV#3.pdf" and sheet["F3"].value is None


def test_summary_shows_times_in_the_zone_it_names(store, tmp_path: Path) -> None:
    job_id = seed_job(tmp_path)
    book = load_workbook(write_report(job_id, ZoneInfo("America/Tegucigalpa")).report)
    summary = {a.value: b.value for a, b in book["Summary"].iter_rows()}
    assert summary["Created"] == "2026-12-04 07:26:00"
    assert summary["Time zone"] == "America/Tegucigalpa"


def test_manifest_lists_each_file_once_with_its_rows(store, tmp_path: Path) -> None:
    job_id = seed_job(tmp_path)
    Job.update(
        docuware_url="https://dw.example.com/DocuWare/Platform",
        started_by="ana on web1 (CLI)",
        started_at=datetime(2026, 12, 4, 13, 30),
        finished_at=datetime(2026, 12, 4, 13, 41),
        found_rows=1,
        not_found_rows=1,
    ).execute()
    paths = write_report(job_id, UTC)
    manifest = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert paths.manifest.name == MANIFEST_NAME
    assert manifest["manifest_version"] == 2
    assert manifest["job"] == "j1"
    assert manifest["server"] == "https://dw.example.com/DocuWare/Platform"
    assert manifest["cabinet"] == "Invoices"
    assert manifest["started_by"] == "ana on web1 (CLI)"
    assert (manifest["started_at"], manifest["finished_at"]) == (
        "2026-12-04T13:30:00Z",
        "2026-12-04T13:41:00Z",
    )
    assert manifest["workbook_sha256"] == "0" * 64
    assert manifest["rows"]["exported"] == 1 and manifest["rows"]["not_found"] == 1
    assert manifest["files"] == [
        {
            "path": "A/100001.pdf",
            "size": 3,
            "sha256": "ab" * 32,
            "cabinet_id": "c",
            "document_id": "17",
            "modified": "2026-11-30T09:15:00Z",
            "rows": [2, 5],
        }
    ]


def test_manifest_is_read_in_chunks_in_path_order(any_store, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("exmado_tui.output.report_sheets.CHUNK", 2)
    job_id = seed_job(tmp_path)
    for number, path in ((3, "C/3.pdf"), (4, "A/100001.pdf"), (4, "B/4.pdf")):
        add_file(JobRow.get(JobRow.row_number == number), path)
    manifest = json.loads(write_report(job_id, UTC).manifest.read_text())
    assert [(e["path"], e["rows"]) for e in manifest["files"]] == [
        ("A/100001.pdf", [2, 5, 4]),
        ("B/4.pdf", [4]),
        ("C/3.pdf", [3]),
    ]


def test_rebuilding_replaces_the_previous_report(store, tmp_path: Path) -> None:
    job_id = seed_job(tmp_path)
    write_report(job_id, UTC)
    JobRow.update(status="done", error="").where(JobRow.row_number == 4).execute()
    sheet = load_workbook(write_report(job_id, UTC).report)["Rows"]
    assert sheet["C4"].value == "Found"


def test_control_characters_in_a_key_are_written_visibly_in_report_and_manifest(
    store, tmp_path: Path
) -> None:
    job_id = seed_job(tmp_path)
    Job.update(name="March\x1b[31m").where(Job.id == job_id).execute()
    JobRow.create(
        job=job_id, row_number=6, key="INV\x00-1\x07", values={}, status="failed", error="x\x0b"
    )
    paths = write_report(job_id, UTC)
    sheet = load_workbook(paths.report)["Rows"]
    assert [sheet["B6"].value, sheet["G6"].value] == ["INV\\x00-1\\x07", "x\\x0b"]
    manifest = paths.manifest.read_text(encoding="utf-8")
    assert json.loads(manifest)["name"] == "March\\x1b[31m"
    assert not any(c in manifest for c in "\x00\x07\x0b\x1b")


def test_a_long_report_calls_back_between_chunks_of_rows(store, tmp_path: Path) -> None:
    from exmado_tui.output.report_sheets import CHUNK

    job_id = seed_job(tmp_path)
    rows = [
        {"job": job_id, "row_number": n, "key": f"K{n}", "values": {}, "status": "done"}
        for n in range(10, 10 + 2 * CHUNK)
    ]
    JobRow.insert_many(rows).execute()
    ticks: list[int] = []
    write_report(job_id, UTC, tick=lambda: ticks.append(1))
    assert len(ticks) >= 2


def test_a_report_cut_mid_save_leaves_no_sheet_to_end_at_garbage_collection(
    store, tmp_path: Path, monkeypatch
) -> None:
    """A report whose save fails (a full disk) closes its sheets: left to the garbage
    collector, a sheet would write its end into a file already closed, and Python would
    print "Exception ignored" on the worker's stderr."""
    job_id = seed_job(tmp_path)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "write", full)  # a sheet copied into the archive
    ignored: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    try:
        write_report(job_id, UTC)
    except OSError:
        pass  # and with it the traceback that held the workbook
    else:
        raise AssertionError("the save did not fail")
    gc.collect()
    assert ignored == []
