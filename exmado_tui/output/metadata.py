"""The profile's `[templates] metadata`: each document's index fields beside its file
(`json`: `NAME.json`, e.g. `100001.pdf.json`) and/or in one `index.csv` at the output root
(`csv`), for loading into another system.

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

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from exmado_tui.config.profiles import Metadata, metadata_kinds
from exmado_tui.docuware.values import FieldValue, IndexData, field_text
from exmado_tui.files.writing import job_part_path, sha256_of, write_atomically
from exmado_tui.output.report_sheets import field_columns, first_per_path, in_path_order, utc_text
from exmado_tui.store.models import Job

SIDECAR_SUFFIX = ".json"
INDEX_NAME = "index.csv"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_HEAD = ("Path", "Document id", "Cabinet", "Modified", "SHA-256")


@dataclass(frozen=True)
class Written:
    """What the metadata files of a job came to: sidecars written and kept as they were,
    and the manifest entry of `index.csv` (None: not asked for)."""

    sidecars: int = 0
    kept: int = 0
    index: dict[str, Any] | None = None


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


def sidecar_entries(job: Job, item: Any) -> Iterator[dict[str, Any]]:
    """The manifest's entry for the sidecar of the file `item`, when the job writes them."""
    if "json" in kinds_of(job):
        data = sidecar_bytes(item, _cabinet(job))
        yield {
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
