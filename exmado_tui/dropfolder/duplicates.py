"""A dropped workbook seen before: the job its content (SHA-256) made, whether the drop folder
made that job from this very file (and stopped before moving it), and the sentence that refuses
a copy with what works for that job's status."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from exmado_tui.files.names import shown
from exmado_tui.job.status import RETRYABLE, JobStatus
from exmado_tui.store.models import Job


def earlier_job(digest: str) -> Job | None:
    """The first job made from a workbook with this SHA-256, from any source."""
    return Job.select().where(Job.workbook_sha256 == digest).order_by(Job.created_at).first()


def made_from(name: str, changed: datetime, job: Job) -> bool:
    """`job` was made from this very file by the drop folder, which stopped before moving it:
    the file has not been written, copied or moved in since (its ctime `changed`, which no one
    can set back, is older than the job)."""
    return job.source == "dropfolder" and job.workbook_name == name and changed < job.created_at


def duplicate_sentence(path: Path, job: Job) -> str:
    made = job.created_at.strftime("%Y-%m-%d %H:%M")
    return (
        f"{shown(path.name)} has the same content (SHA-256) as the workbook of job {job.id[:8]} "
        f"({job.name!r}, {job.status}, made {made} UTC); {what_works(job)}, or set "
        '[dropfolder] duplicates = "accept" and drop the file again to make a new job.'
    )


def what_works(job: Job) -> str:
    """What a person can do with the earlier job, for its status."""
    short = job.id[:8]
    if job.status in RETRYABLE:
        return f"to run its unfinished rows again use `exmado jobs retry {short}`"
    if job.status == JobStatus.COMPLETED:
        return f"it completed: its files are in {job.output_dir}"
    if job.status == JobStatus.PAUSED:
        return f"it is paused: `exmado jobs resume {short}` continues it"
    return f"it has not ended yet: `exmado jobs wait {short}` follows it"
