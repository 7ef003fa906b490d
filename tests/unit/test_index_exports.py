"""Every index field as data, built from the store: the report's Documents sheet read back
with openpyxl (each field in its type, a column per field name met, formulas kept as text),
the sidecars and index.csv of `[templates] metadata`, and verify on an export holding them."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from exmado_tui.docuware.models import Document
from exmado_tui.docuware.values import encode
from exmado_tui.output.report import write_report
from exmado_tui.output.report_sheets import Column, field_columns
from exmado_tui.output.verify import FileCheck, Mark, Verdict, verify_job
from exmado_tui.store.models import Job, JobFile, JobRow
from tests.factories import TABLE, field, insert_job

BERLIN = ZoneInfo("Europe/Berlin")


def doc(doc_id: int, *fields: dict[str, Any]) -> Document:
    raw = {"Id": doc_id, "ContentType": "application/pdf", "SectionCount": 1, "Fields": fields}
    return Document.from_json(raw, "cab-1")


INVOICE = doc(
    17,
    field("INVOICE_NO", "String", "=1+1"),
    field("DOC_DATE", "Date", "/Date(1706745600000)/"),
    field("STORED", "DateTime", "/Date(1706781600000)/"),
    field("AMOUNT", "Decimal", "-1234.5"),
    field("TAGS", "Keywords", {"Keyword": ["red", "blue"]}),
    field("LINES", "Table", TABLE),
)
# The fields met, in the order first met: the invoice's, then the one only the contract has.
FIELDS = ["INVOICE_NO", "DOC_DATE", "STORED", "AMOUNT", "TAGS", "LINES", "CONTRACT_NO"]
CONTRACT = doc(18, field("CONTRACT_NO", "String", "C-9"), field("DOC_DATE", "Date", None))


def seed(out: Path, *metadata: str) -> str:
    """Job j1 exporting into `out`: an invoice and a contract, found, and a row not found."""
    config = {"cabinet": "Invoices", "metadata": list(metadata)}
    insert_job("j1", "COMPLETED", config=config, output_dir=str(out))
    for number, document in ((2, INVOICE), (3, CONTRACT)):
        row = JobRow.create(job="j1", row_number=number, key=str(number), values={}, status="done")
        body = f"%PDF {document.id}".encode()
        (out / "A").mkdir(parents=True, exist_ok=True)
        (out / "A" / f"{document.id}.pdf").write_bytes(body)
        JobFile.create(
            job="j1",
            row=row,
            document_id=str(document.id),
            cabinet_id="cab-1",
            path=f"A/{document.id}.pdf",
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            modified_at=datetime(2026, 11, 30, 9, 15),
            index_data=encode(document),
        )
    JobRow.create(job="j1", row_number=4, key="4", values={}, status="not_found")
    return "j1"


def documents_sheet(out: Path) -> Worksheet:
    return load_workbook(write_report(seed(out), BERLIN).report)["Documents"]


def test_each_field_reads_back_in_its_type(store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sheet = documents_sheet(out)
    header = [c.value for c in sheet[1]]
    assert header == [
        "Row",
        "Document id",
        "Cabinet",
        *FIELDS,
        "Content type",
        "Sections",
        "Size",
        "Path",
        "SHA-256",
        "Modified",
    ]
    invoice = dict(zip(header, sheet[2], strict=True))
    assert [invoice[n].value for n in ("Row", "Document id", "Cabinet")] == [2, 17, "Invoices"]
    assert invoice["INVOICE_NO"].value == "=1+1" and invoice["INVOICE_NO"].data_type == "s"
    assert invoice["DOC_DATE"].is_date and invoice["DOC_DATE"].value == datetime(2024, 2, 1)
    assert invoice["DOC_DATE"].number_format == "yyyy-mm-dd"
    assert invoice["STORED"].is_date  # 10:00 UTC, in the report's zone
    assert invoice["STORED"].value == datetime(2024, 2, 1, 11, 0)
    assert invoice["AMOUNT"].data_type == "n" and invoice["AMOUNT"].value == -1234.5
    assert invoice["TAGS"].value == "red, blue"
    assert invoice["LINES"].value == (
        "POSITION: 1; PRICE: 9.5; DUE: 2024-02-01\nPOSITION: 2; PRICE: -3"
    )
    tail = [invoice[n].value for n in ("Content type", "Sections", "Size", "Path", "SHA-256")]
    assert tail == ["application/pdf", 1, 7, "A/17.pdf", hashlib.sha256(b"%PDF 17").hexdigest()]
    assert invoice["Modified"].value == datetime(2026, 11, 30, 10, 15)


def test_documents_carrying_other_fields_leave_the_others_empty(store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sheet = documents_sheet(out)
    header = [c.value for c in sheet[1]]
    contract = {n: c.value for n, c in zip(header, sheet[3], strict=True)}
    assert contract["CONTRACT_NO"] == "C-9" and contract["Document id"] == 18
    assert contract["DOC_DATE"] is None and contract["AMOUNT"] is None
    assert sheet.max_row == 3  # the row not found has no document
    assert sheet.auto_filter.ref == "A1:P3" and sheet.freeze_panes == "A2"


def test_a_file_kept_before_index_data_has_its_line_without_fields(store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    seed(out)
    JobFile.update(index_data=None).execute()
    sheet = load_workbook(write_report("j1", BERLIN).report)["Documents"]
    assert [c.value for c in sheet[1]][3] == "Content type"
    assert [c.value for c in sheet[2]][:3] == [2, 17, "Invoices"]


def test_no_metadata_files_unless_the_profile_asks(store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_report(seed(out), BERLIN)
    assert not (out / "index.csv").exists()
    assert sorted(p.name for p in (out / "A").iterdir()) == ["17.pdf", "18.pdf"]


def test_a_sidecar_beside_each_file_holds_its_fields_id_cabinet_and_checksum(
    store, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write_report(seed(out, "json"), BERLIN)
    sidecar = json.loads((out / "A" / "17.pdf.json").read_text(encoding="utf-8"))
    assert sidecar == {
        "document_id": 17,
        "cabinet": "Invoices",
        "cabinet_id": "cab-1",
        "file": "17.pdf",
        "modified": "2026-11-30T09:15:00Z",
        "sha256": hashlib.sha256(b"%PDF 17").hexdigest(),
        "content_type": "application/pdf",
        "sections": 1,
        "fields": {
            "INVOICE_NO": "=1+1",
            "DOC_DATE": "2024-02-01",
            "STORED": "2024-02-01T10:00:00+00:00",
            "AMOUNT": -1234.5,
            "TAGS": ["red", "blue"],
            "LINES": [
                {"POSITION": "1", "PRICE": "9.5", "DUE": "2024-02-01"},
                {"POSITION": "2", "PRICE": "-3"},
            ],
        },
    }
    assert (out / "A" / "18.pdf.json").is_file()
    assert not (out / "index.csv").exists()


def test_index_csv_has_a_bom_a_column_per_field_and_no_formula(store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_report(seed(out, "csv"), BERLIN)
    raw = (out / "index.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert not (out / "A" / "17.pdf.json").exists()
    with (out / "index.csv").open(encoding="utf-8-sig", newline="") as reader:
        header, *lines = list(csv.reader(reader))
    assert header == [
        "Path",
        "Document id",
        "Cabinet",
        "Modified",
        "SHA-256",
        *FIELDS,
    ]
    invoice = dict(zip(header, lines[0], strict=True))
    assert invoice["INVOICE_NO"] == "'=1+1"  # text a spreadsheet would run, made plain text
    assert invoice["AMOUNT"] == "-1234.5"  # a number, not text: left as it is
    assert invoice["DOC_DATE"] == "2024-02-01" and invoice["TAGS"] == "red, blue"
    assert invoice["LINES"] == "POSITION: 1; PRICE: 9.5; DUE: 2024-02-01\nPOSITION: 2; PRICE: -3"
    assert (invoice["Path"], invoice["Document id"]) == ("A/17.pdf", "17")
    assert dict(zip(header, lines[1], strict=True))["CONTRACT_NO"] == "C-9"
    assert b'"\'=1+1"' in raw  # every value quoted, as OWASP advises


def test_a_jobs_own_setting_may_be_one_word(store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    seed(out)
    Job.update(config={"cabinet": "Invoices", "metadata": "json"}).execute()
    assert write_report("j1", BERLIN).metadata.sidecars == 2


def test_verify_counts_sidecars_and_index_csv_as_exported(store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_report(seed(out, "json", "csv"), BERLIN)
    checks: list[FileCheck] = []
    result = verify_job("j1", store, checks.append)
    assert sorted((c.mark, c.path) for c in checks) == [
        (Mark.SAME, "A/17.pdf"),
        (Mark.SAME, "A/17.pdf.json"),
        (Mark.SAME, "A/18.pdf"),
        (Mark.SAME, "A/18.pdf.json"),
        (Mark.SAME, "index.csv"),
    ]
    assert result.verdict is Verdict.ALL_MATCH
    (out / "A" / "17.pdf.json").write_text("{}")
    (out / "index.csv").unlink()
    marks = {c.path: c.mark for c in verify_job("j1", store).folder.differences}
    assert marks == {"A/17.pdf.json": Mark.CHANGED, "index.csv": Mark.MISSING}


def test_a_sidecar_already_there_and_the_same_is_not_written_again(store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert write_report(seed(out, "json"), BERLIN).metadata.sidecars == 2
    (out / "A" / "18.pdf.json").unlink()
    again = write_report("j1", BERLIN).metadata
    assert (again.sidecars, again.kept) == (1, 1)


def test_a_field_column_is_as_wide_as_its_widest_line_within_bounds(store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sheet = documents_sheet(out)
    widths = {c.value: sheet.column_dimensions[c.column_letter].width for c in sheet[1]}
    # Each field's name or its widest value, + 2: a table's widest row, a date's ISO text.
    expected = [12, 12, 27, 9, 11, 42, 13]
    assert [widths[name] for name in FIELDS] == expected
    long_line = json.dumps({"fields": {"MEMO": "ab\u2028abcdef\nabc", "WIDE": "w" * 99}})
    JobFile.update(index_data=long_line).where(JobFile.document_id == "18").execute()
    assert field_columns("j1", lambda: None)[-2:] == [Column("MEMO", 8), Column("WIDE", 62)]
