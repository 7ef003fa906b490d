"""A job's report workbook (one line per input row) and its manifest of files with SHA-256.

Both go to the job's output folder as `exmado-report.xlsx` and `exmado-manifest.json`, written
under a temporary name and renamed, so a reader never sees half a report. Text that a
spreadsheet could take for a formula (starting with `=`, `+`, `-`, `@`, tab or CR) is written
as a text cell with Excel's quote prefix; control characters (a NUL or ESC from a CSV key),
which a worksheet cannot hold, are written visibly as `\x00`. Nothing secret is in the store,
so nothing secret can reach a report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from exmado_tui.atomic import remove_leftovers, write_atomically
from exmado_tui.db import utcnow
from exmado_tui.formatting import visible
from exmado_tui.lifecycle import JobStatus
from exmado_tui.models import Job, JobFile, JobRow

REPORT_NAME = "exmado-report.xlsx"
MANIFEST_NAME = "exmado-manifest.json"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROW_HEADERS = ("Row", "Key", "Status", "Documents", "Files", "Error", "Duplicate of row")
CHUNK = 2000
CELL_CONTROLS = "\t\n\r"  # the only control characters a worksheet cell may hold


@dataclass(frozen=True)
class ReportPaths:
    report: Path
    manifest: Path


def write_report(
    job_id: str, status: JobStatus | None = None, tick: Callable[[], None] = lambda: None
) -> ReportPaths:
    """Write (or rebuild) the report and the manifest of one job from the store.

    `status` is the state the job is about to take, for a report written just before the
    worker moves it (so that a job seen as ended always has its report). `tick` runs every
    `CHUNK` rows: a worker beats the job's heart while a long report is written.
    """
    job = Job.get_by_id(job_id)
    if status:
        job.status = status
    folder = Path(job.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files = _files_by_row(job_id)
    report = write_atomically(folder / REPORT_NAME, lambda p: _write_workbook(job, files, p, tick))
    manifest = write_atomically(folder / MANIFEST_NAME, lambda p: _write_manifest(job, p))
    return ReportPaths(report, manifest)


def remove_report_leftovers(folder: Path) -> int:
    """Delete the temporary report and manifest a writer killed mid-write left in `folder`
    (`write_atomically` removes its own on any error it lives through); how many."""
    return sum(remove_leftovers(folder / name) for name in (REPORT_NAME, MANIFEST_NAME))


def text_cell(ws: WriteOnlyWorksheet, value: Any) -> Any:
    """A cell for `value`; text that looks like a formula stays text, controls show as `\x00`."""
    if not isinstance(value, str):
        return value
    value = visible(value, keep=CELL_CONTROLS)
    if not value.startswith(FORMULA_STARTS):
        return value
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _files_by_row(job_id: str) -> dict[int, list[str]]:
    paths: dict[int, list[str]] = {}
    query = JobFile.select(JobFile.row, JobFile.path).where(JobFile.job == job_id)
    for item in query.order_by(JobFile.id).tuples().iterator():
        row_id, path = item
        if row_id is not None:
            paths.setdefault(row_id, []).append(path)
    return paths


def _write_workbook(
    job: Job, files: dict[int, list[str]], path: Path, tick: Callable[[], None]
) -> None:
    book = Workbook(write_only=True)
    rows = book.create_sheet("Rows")
    rows.append(ROW_HEADERS)
    for row in _job_rows(job.id, tick):
        line = (
            row.row_number,
            row.key,
            row.status,
            row.documents,
            "\n".join(files.get(row.id, [])),
            row.error,
            row.duplicate_of,
        )
        rows.append([text_cell(rows, v) for v in line])
    _summary(book.create_sheet("Summary"), job)
    book.save(path)


def _job_rows(job_id: str, tick: Callable[[], None]) -> Iterator[JobRow]:
    last = 0
    while True:
        chunk = list(
            JobRow.select()
            .where((JobRow.job == job_id) & (JobRow.row_number > last))
            .order_by(JobRow.row_number)
            .limit(CHUNK)
        )
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].row_number
        tick()


def _summary(ws: WriteOnlyWorksheet, job: Job) -> None:
    lines = [
        ("Job", job.id),
        ("Name", job.name),
        ("Workbook", job.workbook_name),
        ("Workbook SHA-256", job.workbook_sha256),
        ("Profile", job.profile),
        ("Status", job.status),
        ("Rows", job.total_rows),
        ("Done", job.done_rows),
        ("Found", job.found_rows),
        ("Not found", job.not_found_rows),
        ("Ambiguous", job.ambiguous_rows),
        ("Failed", job.failed_rows),
        ("Skipped", job.skipped_rows),
        ("Files", job.files_count),
        ("Last error", job.last_error),
        ("Generated (UTC)", utcnow().isoformat(timespec="seconds")),
    ]
    for label, value in lines:
        ws.append([label, text_cell(ws, value)])


def manifest_entries(job_id: str) -> list[dict[str, Any]]:
    """One entry per distinct file path, with every row that produced it."""
    entries: dict[str, dict[str, Any]] = {}
    query = (
        JobFile.select(JobFile, JobRow.row_number)
        .join(JobRow)
        .where(JobFile.job == job_id)
        .order_by(JobFile.id)
    )
    for item in query.iterator():
        entry = entries.setdefault(
            item.path,
            {
                "path": item.path,
                "size": item.size,
                "sha256": item.sha256,
                "cabinet_id": item.cabinet_id,
                "document_id": item.document_id,
                "rows": [],
            },
        )
        entry["rows"].append(item.row.row_number)
    return list(entries.values())


def _write_manifest(job: Job, path: Path) -> None:
    data = {
        "job": job.id,
        "name": visible(job.name),
        "status": job.status,
        "workbook": visible(job.workbook_name),
        "workbook_sha256": job.workbook_sha256,
        "last_error": job.last_error,
        "generated_at": utcnow().isoformat(timespec="seconds") + "Z",
        "files": manifest_entries(job.id),
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
