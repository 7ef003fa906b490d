"""A notice: what it says, and the outbox row it is written as.

What it says: its kind, and the body built from the job (or the dropped file) at the moment it
happened. The body is the Standard Webhooks shape (`type`, `timestamp`, `data`); a mail says
the same in words (`delivery.py`). `data` holds the job's id, name, status, counts, output
folder, report path, the first failed rows and the command that shows the job.

The outbox: a notice is a row in the store, written in the transaction of the change it tells
of (a job's move, a file rejected), so it is neither lost nor told of a change that did not
happen. Writing one sends nothing: `delivery.py` does, later, in another process. A notice
found by looking (a job stalled or slowed, `delivery.py`) has a `key` naming what was seen;
its message id comes from that key, so seeing the same thing again, on any host, adds nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from exmado_tui.job.status import JobStatus, RowStatus
from exmado_tui.notify.targets import NoticeKind
from exmado_tui.store.db import utcnow
from exmado_tui.store.models import Job, JobRow, NotifyEvent

FIRST_ERRORS = 5  # failed rows named in a notice; the report names them all


# The moves of a job that are notices by themselves; a pause is one only when it needs a person.
ON_STATUS = {
    JobStatus.COMPLETED: NoticeKind.FINISHED,
    JobStatus.COMPLETED_WITH_ERRORS: NoticeKind.FINISHED_WITH_ERRORS,
    JobStatus.FAILED: NoticeKind.FAILED,
}
HEADLINES = {
    NoticeKind.FINISHED: "finished",
    NoticeKind.FINISHED_WITH_ERRORS: "finished with errors",
    NoticeKind.FAILED: "failed",
    NoticeKind.NEEDS_ATTENTION: "needs attention",
}


def body(kind: NoticeKind, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": str(kind), "timestamp": at.isoformat(timespec="seconds") + "Z", "data": data}


def job_data(job_id: str, kind: NoticeKind, reason: str = "") -> dict[str, Any]:
    """The job as it stands now (inside the transaction that moved it)."""
    from exmado_tui.output.report import REPORT_NAME  # openpyxl only where a notice is written

    job = Job.get_by_id(job_id)
    summary = f"Job {job.name} ({job_id[:8]}) {HEADLINES[kind]}"
    return {
        "summary": summary + (f": {reason}" if reason else "."),
        "reason": reason,
        "job_id": job_id,
        "name": job.name,
        "status": str(job.status),
        "profile": job.profile,
        "counts": {
            "rows": job.total_rows,
            "done": job.done_rows,
            "found": job.found_rows,
            "not_found": job.not_found_rows,
            "ambiguous": job.ambiguous_rows,
            "failed": job.failed_rows,
            "skipped": job.skipped_rows,
            "files": job.files_count,
            "bytes": job.bytes_downloaded,
        },
        "output_dir": job.output_dir,
        "report": f"{job.output_dir.rstrip('/')}/{REPORT_NAME}",
        "errors": first_errors(job_id, job.last_error),
        "command": f"exmado jobs show {job_id[:8]}",
    }


def first_errors(job_id: str, last_error: str) -> list[dict[str, Any]]:
    """The job's first failed rows (row number, key, error), else its own last error."""
    rows = (
        JobRow.select(JobRow.row_number, JobRow.key, JobRow.error)
        .where((JobRow.job == job_id) & (JobRow.status == RowStatus.FAILED))
        .order_by(JobRow.row_number)
        .limit(FIRST_ERRORS)
    )
    errors = [{"row": r.row_number, "key": r.key, "error": r.error} for r in rows]
    return errors or ([{"row": None, "key": "", "error": last_error}] if last_error else [])


def rejected_data(name: str, reason: str, moved_to: str, host: str) -> dict[str, Any]:
    return {
        "summary": f"Drop folder: {name} was rejected: {reason}",
        "reason": reason,
        "file": name,
        "moved_to": moved_to,
        "host": host,
    }


def test_data(host: str) -> dict[str, Any]:
    return {"summary": f"Éxmado on {host}: a test notification (exmado notify test).", "host": host}


def message_id(key: str = "") -> str:
    """A Standard Webhooks message id: from `key` when given (the same key, the same id)."""
    unique = hashlib.sha256(key.encode()).hexdigest()[:32] if key else uuid.uuid4().hex
    return f"msg_{unique}"


def add(
    kind: NoticeKind, data: dict[str, Any], *, job_id: str | None = None, key: str = ""
) -> bool:
    """Write a notice; False when one with the same `key` is already there."""
    now, msg_id = utcnow(), message_id(key)
    if key and NotifyEvent.select().where(NotifyEvent.message_id == msg_id).exists():
        return False
    row = {
        "message_id": msg_id,
        "kind": kind,
        "job_id": job_id,
        "body": body(kind, now, data),
        "created_at": now,
    }
    # Another host may have seen the same thing meanwhile: the unique message id keeps one.
    NotifyEvent.insert(**row).on_conflict_ignore().execute()
    return True


def add_for_job(job_id: str, kind: NoticeKind, reason: str = "", key: str = "") -> bool:
    """A notice about a job, its body the job as it stands (call it inside the move's
    transaction, so the counts are the ones the move left)."""
    return add(kind, job_data(job_id, kind, reason), job_id=job_id, key=key)
