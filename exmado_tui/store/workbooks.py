"""A job's workbook kept in the job store, so a worker on any host can read it.

The job service still keeps a private copy in the creating host's data folder; a worker reads
that copy when it is on the same host, and otherwise writes one into its own data folder from
the store. Stores made before the workbook moved into them keep only the on-disk copy.
"""

from __future__ import annotations

from pathlib import Path

from exmado_tui.errors import WorkbookError
from exmado_tui.files.writing import private_folder, sha256_of, write_atomically, write_private
from exmado_tui.store.models import Job, JobWorkbook


def keep(job_id: str, content: bytes) -> None:
    """Store the bytes of the job's workbook beside the job (those its private copy was
    written from: the workbook is read once)."""
    JobWorkbook.create(job=job_id, content=content)


def local_copy(job: Job, data_dir: Path) -> Path:
    """A path on this host holding the job's workbook: its private copy when it is here and
    whole, else one written into `data_dir` from the store."""
    here = Path(job.workbook_path)
    if _holds(here, job.workbook_sha256):
        return here
    stored = JobWorkbook.select(JobWorkbook.content).where(JobWorkbook.job == job.id).first()
    if stored is None:
        raise WorkbookError(
            f"The workbook {job.workbook_name} of job {job.id[:8]} is not at {here} on this host "
            "and the job store has no copy of it (a job made before Éxmado kept workbooks in "
            "the store): run it on the host that created it, or create the job again."
        )
    target = data_dir / "workbooks" / job.id / Path(job.workbook_name).name
    if not _holds(target, job.workbook_sha256):
        _write(target, bytes(stored.content))
    return target


def _holds(path: Path, sha256: str) -> bool:
    try:
        return sha256_of(path) == sha256
    except OSError:
        return False


def _write(target: Path, content: bytes) -> None:
    private_folder(target.parent)
    write_atomically(target, lambda temp: write_private(temp, content))
