"""The report's bytes: every part of the workbook and the manifest of one job are the ones kept
in `__snapshots__/test_report_bytes/` (a change that makes the report faster must not make it
say anything else), and the sheets' lines written as text (`LineSheet`) are openpyxl's own.

The job holds what the sheets are made of: dates and times (one before 1900-03-01, a day
Excel counts oddly), numbers (an integer, decimals, NaN), text (a formula kept as text, a
control, spaces, Unicode), empty values, keywords and a table, links and a path no link can
follow, a file kept before index data, and a line with "#N/A" (openpyxl writes that line).

After a deliberate change to what the report says, write the parts again and read the diff:
`UPDATE_REPORT_PARTS=1 pytest tests/integration/test_report_bytes.py`.
"""

from __future__ import annotations

import os
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from exmado_tui.docuware.models import Document
from exmado_tui.docuware.values import encode
from exmado_tui.output import report
from exmado_tui.output.report import write_report
from exmado_tui.output.sheet_lines import LineSheet
from exmado_tui.store.models import Job, JobFile, JobRow
from tests.factories import TABLE, field

SNAPSHOTS = Path(__file__).parent / "__snapshots__" / "test_report_bytes"
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 7, 6, 0, 0)
DAY_MS = 86_400_000


def document(doc_id: int, *fields: dict[str, Any]) -> Document:
    raw = {"Id": doc_id, "ContentType": "application/pdf", "SectionCount": 2, "Fields": fields}
    return Document.from_json(raw, "cab-1")


INVOICE = document(
    17,
    field("INVOICE_NO", "String", "=1+1"),
    field("DOC_DATE", "Date", "/Date(1706745600000)/"),
    field("STORED", "DateTime", "/Date(1706781600000)/"),
    field("AMOUNT", "Decimal", "-1234.5"),
    field("TAGS", "Keywords", {"Keyword": ["red", "blue"]}),
    field("LINES", "Table", TABLE),
)
OLD = document(
    18,
    field("INVOICE_NO", "String", " lead & <trail> "),
    field("DOC_DATE", "Date", f"/Date({-25_000 * DAY_MS})/"),  # 1901-07-21
    field("STORED", "DateTime", "/Date(-2208902400000)/"),  # 1900-01-02 00:00 UTC
    field("AMOUNT", "Decimal", "NaN"),
    field("COUNT", "Int", 2**40),
    field("NOTE", "String", "é 漢字 🙂\nsecond line"),
)
ODD = document(
    19,
    field("INVOICE_NO", "String", "#N/A"),  # openpyxl writes this line, dates included
    field("DOC_DATE", "Date", "/Date(1709251200000)/"),
    field("STORED", "DateTime", "/Date(1709287200000+0100)/"),
    field("AMOUNT", "Decimal", None),
    field("NOTE", "String", ""),
)


def add_row(number: int, key: str, status: str, **values: Any) -> JobRow:
    return JobRow.create(job="j1", row_number=number, key=key, status=status, **values)


def add_file(row: JobRow, path: str, doc: Document | None, modified: datetime | None) -> None:
    JobFile.create(
        job="j1",
        row=row,
        document_id=str(doc.id) if doc else "a-17",
        cabinet_id="cab-1",
        path=path,
        size=1234,
        sha256="ab" * 32,
        modified_at=modified,
        index_data=encode(doc) if doc else None,
    )


def seed(out: Path) -> str:
    """Job j1: rows found with one file or two, not found, failed, skipped; their files."""
    config = {
        "cabinet": "Invoices",
        "columns": {"Invoice": "INVOICE_NO"},
        "metadata": ["json", "csv"],
    }
    Job.create(
        id="j1",
        name="March",
        status="COMPLETED_WITH_ERRORS",
        config=config,
        workbook_name="w.xlsx",
        workbook_path=str(out / "w.xlsx"),
        workbook_sha256="0" * 64,
        output_dir=str(out),
        docuware_url="https://dw.example.com/DocuWare/Platform",
        created_at=datetime(2026, 12, 4, 13, 26),
        started_at=datetime(2026, 12, 4, 13, 27),
        finished_at=datetime(2026, 12, 4, 13, 40),
        total_rows=6,
        done_rows=6,
    )
    asked = {"Invoice": "100001", "Requested by": "Ana Reyes", "Note": "=cmd|' /C calc'!A0"}
    first = add_row(2, "100001", "done", values=asked, documents=1)
    add_file(first, "A/100001.pdf", INVOICE, datetime(2026, 11, 30, 9, 15))
    add_row(3, '=HYPERLINK("x")', "not_found", values={"Invoice": "x", "Note": ""})
    two = add_row(4, "100002", "done", values={"Invoice": "100002", "Extra": "  "}, documents=2)
    add_file(two, "B/old 1.pdf", OLD, datetime(1999, 12, 31, 23, 59, 59))
    add_file(two, "B/old 2.pdf", None, None)
    add_row(5, "-5", "failed", values={}, error="@bad cell\x07")
    duplicate = add_row(6, "100001", "skipped", values={"Invoice": "100001"}, duplicate_of=2)
    add_file(duplicate, "A/100001.pdf", INVOICE, datetime(2026, 11, 30, 9, 15))
    odd = add_row(7, "key\tend", "done", values={"Invoice": "key"}, documents=1)
    add_file(odd, "C/#19.pdf", ODD, datetime(2026, 3, 1, 12, 0))
    for path in ("A/100001.pdf", "B/old 1.pdf", "B/old 2.pdf", "C/#19.pdf"):
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_bytes(b"%PDF")
    return "j1"


def report_parts(job_id: str) -> dict[str, bytes]:
    """The workbook's parts (but its time of writing, `docProps/core.xml`) and the manifest."""
    paths = write_report(job_id, BERLIN)
    with zipfile.ZipFile(paths.report) as book:
        parts = {n: book.read(n) for n in book.namelist() if n != "docProps/core.xml"}
    return parts | {"exmado-manifest.json": paths.manifest.read_bytes()}


def snapshot_name(part: str) -> str:
    return part.replace("/", "__")


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's "Generated" time, always the same."""
    monkeypatch.setattr(report, "utcnow", lambda: NOW)


def test_the_report_says_what_it_said(store, frozen, tmp_path: Path) -> None:
    parts = report_parts(seed(tmp_path))
    if os.environ.get("UPDATE_REPORT_PARTS"):
        for old in SNAPSHOTS.glob("*"):
            old.unlink()
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        for part, data in parts.items():
            (SNAPSHOTS / snapshot_name(part)).write_bytes(data)
    kept = {path.name: path.read_bytes() for path in SNAPSHOTS.iterdir()}
    assert sorted(kept) == sorted(snapshot_name(part) for part in parts)
    for part, data in parts.items():
        assert data == kept[snapshot_name(part)], part


def test_its_lines_as_text_are_openpyxls_own(
    store, frozen, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = seed(tmp_path)
    ours = report_parts(job_id)
    monkeypatch.setattr(LineSheet, "_plain", lambda *_: False)  # every line openpyxl's
    assert report_parts(job_id) == ours
