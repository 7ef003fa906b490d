"""The report's Documents sheet, built from the store, read back with openpyxl: each index
field in its type, a column per field name met, formulas kept as text."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from exmado_tui.docuware.index_data import encode
from exmado_tui.docuware.models import Document
from exmado_tui.output.report import write_report
from exmado_tui.store.models import JobFile, JobRow
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
CONTRACT = doc(18, field("CONTRACT_NO", "String", "C-9"), field("DOC_DATE", "Date", None))


def seed(tmp_path: Path) -> str:
    insert_job("j1", "COMPLETED", config={"cabinet": "Invoices"}, output_dir=str(tmp_path))
    for number, document in ((2, INVOICE), (3, CONTRACT)):
        row = JobRow.create(job="j1", row_number=number, key=str(number), values={}, status="done")
        JobFile.create(
            job="j1",
            row=row,
            document_id=str(document.id),
            cabinet_id="cab-1",
            path=f"A/{document.id}.pdf",
            size=4,
            sha256="ab" * 32,
            modified_at=datetime(2026, 11, 30, 9, 15),
            index_data=encode(document),
        )
    JobRow.create(job="j1", row_number=4, key="4", values={}, status="not_found")
    return "j1"


def documents_sheet(tmp_path: Path) -> Worksheet:
    return load_workbook(write_report(seed(tmp_path), BERLIN).report)["Documents"]


def test_each_field_reads_back_in_its_type(store, tmp_path: Path) -> None:
    sheet = documents_sheet(tmp_path)
    header = [c.value for c in sheet[1]]
    assert header == [
        "Row",
        "Document id",
        "Cabinet",
        "INVOICE_NO",
        "DOC_DATE",
        "STORED",
        "AMOUNT",
        "TAGS",
        "LINES",
        "CONTRACT_NO",
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
    assert invoice["STORED"].is_date  # 09:00 UTC, in the report's zone
    assert invoice["STORED"].value == datetime(2024, 2, 1, 11, 0)
    assert invoice["AMOUNT"].data_type == "n" and invoice["AMOUNT"].value == -1234.5
    assert invoice["TAGS"].value == "red, blue"
    assert invoice["LINES"].value == (
        "POSITION: 1; PRICE: 9.5; DUE: 2024-02-01\nPOSITION: 2; PRICE: -3"
    )
    tail = [invoice[n].value for n in ("Content type", "Sections", "Size", "Path", "SHA-256")]
    assert tail == ["application/pdf", 1, 4, "A/17.pdf", "ab" * 32]
    assert invoice["Modified"].value == datetime(2026, 11, 30, 10, 15)


def test_documents_carrying_other_fields_leave_the_others_empty(store, tmp_path: Path) -> None:
    sheet = documents_sheet(tmp_path)
    header = [c.value for c in sheet[1]]
    contract = {n: c.value for n, c in zip(header, sheet[3], strict=True)}
    assert contract["CONTRACT_NO"] == "C-9" and contract["Document id"] == 18
    assert contract["DOC_DATE"] is None and contract["AMOUNT"] is None
    assert sheet.max_row == 3  # the row not found has no document
    assert sheet.auto_filter.ref == "A1:P3" and sheet.freeze_panes == "A2"


def test_a_file_kept_before_index_data_has_its_line_without_fields(store, tmp_path: Path) -> None:
    seed(tmp_path)
    JobFile.update(index_data=None).execute()
    sheet = load_workbook(write_report("j1", BERLIN).report)["Documents"]
    assert [c.value for c in sheet[1]][3] == "Content type"
    assert [c.value for c in sheet[2]][:3] == [2, 17, "Invoices"]
