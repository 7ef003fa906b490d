"""After a fault: is every input row there exactly once, and is every file whole and single?

Read from the store, the output folder and the report, as a user would check them: row statuses
against the job's counters, the manifest's SHA-256 against the bytes on disk, the report's rows
against the store's.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from openpyxl import load_workbook

from exmado_tui.output.report import MANIFEST_NAME, REPORT_NAME
from exmado_tui.output.report_sheets import status_word
from exmado_tui.store.models import Job, JobFile, JobRow
from tests.reliability.tally import Audit, Tally

COUNTERS = {
    "found_rows": "done",
    "not_found_rows": "not_found",
    "ambiguous_rows": "ambiguous",
    "failed_rows": "failed",
    "skipped_rows": "skipped",
}


def audit(job_id: str, keys: list[str], fault: str) -> Audit:
    job = Job.get_by_id(job_id)
    rows = list(JobRow.select().where(JobRow.job == job_id))
    result = Audit(fault, len(keys), completed=job.status == "COMPLETED")
    if not result.completed:
        errors = sorted({r.error for r in rows if r.status != "done"})[:3]
        result.problems.append(f"ended {job.status}: {job.last_error or '-'}; rows: {errors}")
    _check_rows(result, rows, keys)
    _check_counters(result, job, rows)
    _check_files(result, job, rows)
    return result


def _check_rows(result: Audit, rows: list[JobRow], keys: list[str]) -> None:
    got, want = Counter(r.key for r in rows), Counter(keys)
    pending = sum(r.status == "pending" for r in rows)
    result.lost = sum((want - got).values()) + pending
    result.twice = sum((got - want).values()) + sum(r.attempts > 1 for r in rows)
    numbers = Counter(r.row_number for r in rows)
    result.twice += sum(n - 1 for n in numbers.values())


def _check_counters(result: Audit, job: Job, rows: list[JobRow]) -> None:
    statuses = Counter(r.status for r in rows)
    expected = {name: statuses.get(status, 0) for name, status in COUNTERS.items()}
    expected["done_rows"] = len(rows) - statuses.get("pending", 0)
    expected["total_rows"] = len(rows)
    for name, value in expected.items():
        if getattr(job, name) != value:
            result.problems.append(f"{name} is {getattr(job, name)}, the rows say {value}")


def _check_files(result: Audit, job: Job, rows: list[JobRow]) -> None:
    out = Path(job.output_dir)
    if not (out / MANIFEST_NAME).is_file():
        result.problems.append("no manifest")
        return
    entries = json.loads((out / MANIFEST_NAME).read_text())["files"]
    on_disk = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    shas = {e["sha256"] for e in entries}
    for entry in entries:
        path = on_disk.pop(entry["path"], None)
        if path is None or _sha256(path) != entry["sha256"]:
            result.partial_files += 1
            result.problems.append(f"{entry['path']} missing or not as the manifest says")
    on_disk.pop(MANIFEST_NAME, None)
    for path in (on_disk.pop(REPORT_NAME, None),):
        if path is None:
            result.problems.append("no report")
        else:
            _check_report(result, path, rows)
    for name, path in on_disk.items():  # stray files: a second copy, or a leftover
        if path.suffix != ".part" and _sha256(path) in shas:
            result.duplicate_files += 1
        else:
            result.partial_files += 1
        result.problems.append(f"stray file {name}")
    documents = Counter(e["document_id"] for e in entries)
    result.duplicate_files += sum(n - 1 for n in documents.values())
    stored = Counter((f.row_id, f.document_id) for f in JobFile.select().where(JobFile.job == job))
    result.duplicate_files += sum(n - 1 for n in stored.values())


def _check_report(result: Audit, path: Path, rows: list[JobRow]) -> None:
    sheet = load_workbook(path, read_only=True)["Rows"]
    reported = {line[0]: line[2] for line in sheet.iter_rows(min_row=2, values_only=True)}
    stored = {r.row_number: status_word(r.status) for r in rows}
    if reported != stored:
        result.problems.append(f"the report's {len(reported)} rows differ from the store's")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def survived(tally: Tally, job_id: str, keys: list[str], fault: str) -> Audit:
    """Audit the job, count it in the suite's line, and fail the test on any loss."""
    result = audit(job_id, keys, fault)
    tally.fault(result)
    assert result.clean, result
    return result
