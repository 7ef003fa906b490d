"""What a notification says: its kind, and the body built from the job (or the dropped file)
at the moment it happened.

The body is the Standard Webhooks shape (`type`, `timestamp`, `data`); a mail says the same in
words (`mail.py`). `data` holds the job's id, name, status, counts, output folder, report path,
the first failed rows and the command that shows the job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from exmado_tui.job.status import JobStatus, RowStatus
from exmado_tui.notify.kinds import NoticeKind
from exmado_tui.store.models import Job, JobRow

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
