"""What a job leaves beside its files: its report workbook (a Rows sheet and a Documents sheet,
see report_sheets, and a Summary), its manifest of files with SHA-256, and the metadata files
of the profile's `[templates] metadata`.

The report and the manifest go to the job's output folder as `exmado-report.xlsx` and
`exmado-manifest.json`, written under a temporary name and renamed, so a reader never sees
half a report, and a chunk of rows or files at a time, so a 100,000-row job costs the memory
of a chunk. Times are shown in the zone of the settings (`timezone`), which the Summary names.
Nothing secret is in the store, so nothing secret can reach a report.

The metadata files: each document's index fields beside its file (`json`: `NAME.json`, e.g.
`100001.pdf.json`) and/or in one `index.csv` at the output root (`csv`), for loading into
another system.

Both are written with the report, at the job's end, from the store (`job_file.index_data`):
what a run recorded is what they say, on any host, and a rebuilt report writes them again.
A sidecar is the same bytes for the same file every time (no time of writing in it), so a
sidecar already there and the same is left alone (a run after a crash writes none twice) and
the manifest lists each with its SHA-256 without reading it back. A sidecar is written under
the job's own temporary name (`.exmado-<job>-<uuid>.part`, cleaned at the job's next run if
a kill leaves one) and renamed; the disk is synced once after the last, before the job is
recorded as ended (a crash before that runs the end again). `index.csv` is UTF-8 with a BOM
(Excel opens it as UTF-8), every value quoted, and a text value that a spreadsheet would run
as a formula (starting with = + - @, a tab or a return) starts with an apostrophe, as OWASP
advises; numbers and dates are Éxmado's own text and left as they are.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from exmado_tui.config.profiles import Metadata, metadata_kinds
from exmado_tui.config.settings import zone_name
from exmado_tui.docuware.values import FieldValue, IndexData, field_text
from exmado_tui.files import job_part_path, remove_leftovers, sha256_of, write_atomically
from exmado_tui.formatting import local_time, visible
from exmado_tui.job.query_source import KEY as QUERY_KEY
from exmado_tui.job.status import FINAL, JobStatus
from exmado_tui.output.report_sheets import (
    FILE_COLUMNS,
    FORMULA_STARTS,
    LISTED_COLUMNS,
    field_columns,
    first_per_path,
    in_path_order,
    set_widths,
    text_cell,
    utc_text,
    write_documents_sheet,
    write_rows_sheet,
)
from exmado_tui.output.sheet_lines import line_sheet
from exmado_tui.store.db import utcnow
from exmado_tui.store.models import Job

REPORT_NAME = "exmado-report.xlsx"
MANIFEST_NAME = "exmado-manifest.json"
# 2: who ran the job when, against which server and cabinet, its rows, each file's modified
# date (`exmado jobs verify` names what a version 1 manifest, which has no number, lacks).
MANIFEST_VERSION = 2


@dataclass(frozen=True)
class Written:
    """What the metadata files of a job came to: sidecars written and kept as they were,
    and the manifest entry of `index.csv` (None: not asked for)."""

    sidecars: int = 0
    kept: int = 0
    index: dict[str, Any] | None = None


@dataclass(frozen=True)
class ReportPaths:
    report: Path
    manifest: Path
    metadata: Written = Written()


def write_report(
    job_id: str,
    zone: ZoneInfo,
    status: JobStatus | None = None,
    tick: Callable[[], None] = lambda: None,
) -> ReportPaths:
    """Write (or rebuild) the report and the manifest of one job from the store, its times
    in `zone`.

    `status` is the state the job is about to take, for a report written just before the
    worker moves it (so that a job seen as ended always has its report). `tick` runs every
    `CHUNK` rows: a worker beats the job's heart while a long report is written.
    """
    job = Job.get_by_id(job_id)
    if status:
        job.status = status
    folder = Path(job.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    report = write_atomically(folder / REPORT_NAME, lambda p: _write_workbook(job, zone, p, tick))
    metadata = write_metadata(job, folder, tick)
    manifest = write_atomically(
        folder / MANIFEST_NAME, lambda p: _write_manifest(job, p, tick, metadata.index)
    )
    return ReportPaths(report, manifest, metadata)


def remove_report_leftovers(folder: Path) -> int:
    """Delete the temporary report and manifest a writer killed mid-write left in `folder`
    (`write_atomically` removes its own on any error it lives through); how many."""
    return sum(remove_leftovers(folder / name) for name in (REPORT_NAME, MANIFEST_NAME))


def _write_workbook(job: Job, zone: ZoneInfo, path: Path, tick: Callable[[], None]) -> None:
    book = Workbook(write_only=True)
    try:
        write_rows_sheet(line_sheet(book, "Rows"), job, tick)
        write_documents_sheet(line_sheet(book, "Documents"), job, zone, tick)
        _summary(book.create_sheet("Summary"), job, zone)
        book.save(path)
    except BaseException:
        _close_sheets(book)
        raise


def _close_sheets(book: Workbook) -> None:
    """The sheets a failed save (a full disk) left open, closed now: left to the garbage
    collector, each would end its XML in a file already closed ("Exception ignored")."""
    for sheet in book.worksheets:
        if isinstance(sheet, WriteOnlyWorksheet) and not sheet.closed:
            with contextlib.suppress(Exception):  # the save's own error is the one to tell
                sheet.close()


def _summary(ws: WriteOnlyWorksheet, job: Job, zone: ZoneInfo) -> None:
    set_widths(ws, (18, 60))
    source = "Query" if "query" in (job.config or {}) else "Workbook"  # query_source.py
    lines = [
        ("Job", job.id),
        ("Name", job.name),
        (source, job.workbook_name),
        (f"{source} SHA-256", job.workbook_sha256),
        ("Profile", job.profile),
        ("Status", job.status),
        ("Rows", job.total_rows),
        ("Done", job.done_rows),
        ("Found", job.found_rows),
        ("Not found", job.not_found_rows),
        ("Several found", job.ambiguous_rows),
        ("Failed", job.failed_rows),
        ("Skipped", job.skipped_rows),
        ("Files", job.files_count),
        ("Last error", job.last_error),
        ("Created by", job.created_by),
        ("Started by", job.started_by),
        ("Created", _local(job.created_at, zone)),
        ("Started", _local(job.started_at, zone)),
        ("Finished", _local(job.finished_at, zone)),
        ("Generated", _local(utcnow(), zone)),
        ("Time zone", zone_name(zone)),
    ]
    for label, value in lines:
        ws.append([label, text_cell(ws, value)])


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    """A stored naive-UTC time as text in `zone` (Excel's dates know no zone)."""
    return local_time(moment, zone, "%Y-%m-%d %H:%M:%S")


def manifest_entries(job: Job, tick: Callable[[], None] = lambda: None) -> Iterator[dict[str, Any]]:
    """One entry per distinct file path, in path order, with every row that produced it; after
    it, the entry of its sidecar when the job writes them (`sidecar_entry`)."""
    cabinet = _cabinet(job) if "json" in kinds_of(job) else None  # None: no sidecars
    columns = FILE_COLUMNS if cabinet is not None else LISTED_COLUMNS
    entry: dict[str, Any] | None = None
    first: Any = None
    for item in in_path_order(job.id, tick, columns):
        if entry is not None and entry["path"] == item.path:
            entry["rows"].append(item.row_number)
            continue
        if entry is not None:
            yield entry
            if cabinet is not None:
                yield sidecar_entry(first, cabinet)
        first = item
        entry = {
            "path": item.path,
            "size": item.size,
            "sha256": item.sha256,
            "cabinet_id": item.cabinet_id,
            "document_id": item.document_id,
            "modified": utc_text(item.modified_at),
            "rows": [item.row_number],
        }
    if entry is not None:
        yield entry
        if cabinet is not None:
            yield sidecar_entry(first, cabinet)


def manifest_head(job: Job) -> dict[str, Any]:
    """What the manifest says of the job before its files: which job, from what, run by whom,
    when, against which server and cabinet, and what became of its rows. Times in UTC."""
    finished = job.finished_at or (utcnow() if job.status in FINAL else None)
    config = job.config or {}
    return {
        "manifest_version": MANIFEST_VERSION,
        "job": job.id,
        "name": visible(job.name),
        "status": job.status,
        "workbook": visible(job.workbook_name),
        "workbook_sha256": job.workbook_sha256,
        "profile": job.profile,
        "server": job.docuware_url,
        "cabinet": config.get("cabinet", ""),
        # A query job's rows come from this search; its "workbook" is the query's text and
        # "workbook_sha256" the query's digest (query_source.QuerySource).
        "query": config.get(QUERY_KEY),
        "created_by": job.created_by,
        "started_by": job.started_by,
        "created_at": utc_text(job.created_at),
        "started_at": utc_text(job.started_at),
        "finished_at": utc_text(finished),
        "rows": {
            "total": job.total_rows,
            "exported": job.found_rows,
            "not_found": job.not_found_rows,
            "several_found": job.ambiguous_rows,
            "failed": job.failed_rows,
            "skipped": job.skipped_rows,
        },
        "last_error": job.last_error,
        "generated_at": utc_text(utcnow()),
    }


def _write_manifest(
    job: Job, path: Path, tick: Callable[[], None], index: dict[str, Any] | None = None
) -> None:
    """The head, then every file's entry (its sidecar's after it) and `index`'s, if any."""
    head = manifest_head(job)
    with path.open("w", encoding="utf-8") as out:
        out.write("{\n")
        for key, value in head.items():
            out.write(f" {json.dumps(key)}: {_json(value)},\n")
        out.write(' "files": [')
        _write_entries(out, itertools.chain(manifest_entries(job, tick), [index] if index else []))
        out.write("\n ]\n}\n")


def _write_entries(out: IO[str], entries: Iterator[dict[str, Any]]) -> None:
    """One file's entry a line, written as read."""
    for n, entry in enumerate(entries):
        out.write(("," if n else "") + "\n  " + _json(entry))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- the metadata files (`[templates] metadata`) ----------------------------------------------

SIDECAR_SUFFIX = ".json"
INDEX_NAME = "index.csv"
CSV_HEAD = ("Path", "Document id", "Cabinet", "Modified", "SHA-256")


def kinds_of(job: Job) -> tuple[Metadata, ...]:
    """The job's `metadata` setting, from its profile's snapshot (checked when it was made)."""
    return metadata_kinds((job.config or {}).get("metadata", "none"), f"Job {job.id[:8]}")


def sidecar_path(path: str) -> str:
    return path + SIDECAR_SUFFIX


def write_metadata(job: Job, root: Path, tick: Callable[[], None]) -> Written:
    """The sidecars and `index.csv` the job's setting asks for, under `root`."""
    kinds = kinds_of(job)
    written, kept = 0, 0
    if "json" in kinds:
        written, kept = _write_sidecars(job, root, tick)
    index = _write_index(job, root, tick) if "csv" in kinds else None
    return Written(written, kept, index)


def sidecar_entry(item: Any, cabinet: str) -> dict[str, Any]:
    """The manifest's entry for the sidecar of the file `item`."""
    data = sidecar_bytes(item, cabinet)
    return {
        "path": sidecar_path(item.path),
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "metadata_of": item.path,
    }


def sidecar_bytes(item: Any, cabinet: str) -> bytes:
    """A file's sidecar: its document's id, cabinet, modified date and SHA-256, then its
    content type, sections and every index field (dates ISO, decimals as numbers)."""
    data = IndexData.read(item.index_data)
    record = {
        "document_id": _document_id(item.document_id),
        "cabinet": cabinet or item.cabinet_id,
        "cabinet_id": item.cabinet_id,
        "file": Path(item.path).name,
        "modified": utc_text(item.modified_at),
        "sha256": item.sha256,
        "content_type": data.content_type,
        "sections": data.sections,
        "fields": {name: _json_value(value) for name, value in data.fields.items()},
    }
    if data.cut:
        record["cut"] = list(data.cut)
    return (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _write_sidecars(job: Job, root: Path, tick: Callable[[], None]) -> tuple[int, int]:
    cabinet, written, kept = _cabinet(job), 0, 0
    for item in first_per_path(in_path_order(job.id, tick)):
        if _place(root / sidecar_path(item.path), sidecar_bytes(item, cabinet), job.id):
            written += 1
        else:
            kept += 1
    if written:
        os.sync()  # all of them on disk before the job is recorded as ended
    return written, kept


def _place(target: Path, data: bytes, job_id: str) -> bool:
    """Put `data` at `target` unless it holds them already; whether it wrote."""
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
    except OSError:
        pass  # not there (or unreadable): written
    target.parent.mkdir(parents=True, exist_ok=True)  # a file's folder removed by hand
    temp = job_part_path(target.parent, job_id)
    try:
        temp.write_bytes(data)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return True


def _write_index(job: Job, root: Path, tick: Callable[[], None]) -> dict[str, Any]:
    names = [column.name for column in field_columns(job.id, tick)]
    target = write_atomically(root / INDEX_NAME, lambda p: _write_csv(job, p, names, tick))
    size, sha256 = target.stat().st_size, sha256_of(target)
    return {"path": INDEX_NAME, "size": size, "sha256": sha256, "metadata_of": "*"}


def _write_csv(job: Job, path: Path, names: list[str], tick: Callable[[], None]) -> None:
    cabinet = _cabinet(job)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        writer.writerow([csv_safe(name) for name in (*CSV_HEAD, *names)])
        for item in first_per_path(in_path_order(job.id, tick)):
            fields = IndexData.read(item.index_data).fields
            head = [csv_safe(item.path), item.document_id, csv_safe(cabinet or item.cabinet_id)]
            head += [utc_text(item.modified_at) or "", item.sha256]
            writer.writerow(head + [_csv_value(fields.get(name)) for name in names])


def csv_safe(text: str) -> str:
    """Text a spreadsheet would run as a formula, made plain text (OWASP's apostrophe)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_value(value: FieldValue) -> str:
    if isinstance(value, int | Decimal | date):  # Éxmado's own text: not a formula
        return field_text(value)
    return csv_safe(field_text(value))


def _json_value(value: FieldValue) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _document_id(document_id: str) -> int | str:
    return int(document_id) if document_id.isdigit() else document_id


def _cabinet(job: Job) -> str:
    return str((job.config or {}).get("cabinet") or "")
