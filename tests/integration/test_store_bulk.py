"""Many rows in one INSERT (`store/bulk.py`): peewee's own statement and values, sent once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from exmado_tui.job.status import RowStatus
from exmado_tui.store.bulk import insert_ignoring, statement
from exmado_tui.store.models import Job, JobFile, JobRow


def a_job(tmp_path: Path) -> None:
    Job.create(
        id="j1", name="March", status="RUNNING", config={}, workbook_name="w.xlsx",
        workbook_path=str(tmp_path / "w.xlsx"), workbook_sha256="0" * 64,
        output_dir=str(tmp_path / "out"),
    )  # fmt: skip


def row(number: int, **extra: Any) -> dict[str, Any]:
    values = {"Invoice number": f"K{number}", "Comment": None, "Amount": 12.5}
    return {"job": "j1", "row_number": number, "key": f"K{number}", "values": values, **extra}


def test_the_statement_and_values_are_peewees_own(any_store, tmp_path: Path) -> None:
    """Every column given (peewee adds the defaults of those left out, evaluated per row)."""
    moment = datetime(2026, 12, 7, 1, 2, 3)
    rows = [
        row(2, status=RowStatus.FAILED, attempts=0, failed_at_import=True, error="Empty key.",
            documents=0, duplicate_of=None, updated_at=moment),
        row(3, status=RowStatus.SKIPPED, attempts=1, failed_at_import=False, error="",
            documents=2, duplicate_of=2, updated_at=moment),
    ]  # fmt: skip
    fields = [f for f in JobRow._meta.sorted_fields if f is not JobRow._meta.primary_key]
    tuples = [tuple(r[f.name] for f in fields) for r in rows]
    own = JobRow.insert_many(tuples, fields=fields).on_conflict_ignore().sql()
    assert statement(JobRow, rows) == (own[0], list(own[1]))


def test_rows_go_in_once_with_their_defaults_and_values(any_store, tmp_path: Path) -> None:
    a_job(tmp_path)
    insert_ignoring(JobRow, [row(2), row(3, status=RowStatus.SKIPPED, duplicate_of=2)])
    insert_ignoring(JobRow, [row(3, key="again"), row(4)])  # row 3 is there: left out
    got = {r.row_number: r for r in JobRow.select()}
    assert sorted(got) == [2, 3, 4]
    assert got[3].key == "K3" and got[3].status is RowStatus.SKIPPED and got[3].duplicate_of == 2
    assert got[2].values == {"Invoice number": "K2", "Comment": None, "Amount": 12.5}
    assert (got[4].status, got[4].attempts, got[4].error) == (RowStatus.PENDING, 0, "")
    assert all(isinstance(r.updated_at, datetime) for r in got.values())


def test_a_file_s_row_and_its_nulls(any_store, tmp_path: Path) -> None:
    a_job(tmp_path)
    insert_ignoring(JobRow, [row(2)])
    first = JobRow.get()
    file = {"job": "j1", "row": first.id, "document_id": "7", "path": "a/7.pdf", "size": 3}
    insert_ignoring(JobFile, [file, {**file, "document_id": "8", "path": "a/8.pdf"}])
    got = list(JobFile.select().order_by(JobFile.document_id))
    assert [(f.row_id, f.path, f.modified_at, f.index_data) for f in got] == [
        (first.id, "a/7.pdf", None, None),
        (first.id, "a/8.pdf", None, None),
    ]
