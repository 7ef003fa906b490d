"""A new job before it is stored: what a door (the CLI, the dashboard, the drop folder, a
schedule) asks of `JobService.create` (`JobRequest`), and what its workbook or its query makes
of it (`NewJob`: the name, the configuration it runs with, its first events).

A workbook is checked against the profile and copied twice: a private copy in the creating
host's data folder, and its bytes in the job store, so a worker on any host can read it
(`local_copy`: the private copy when it is there and whole, else one written from the store;
stores made before the workbook moved into them keep only the on-disk copy).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from exmado_tui.config.profiles import Profile, check_profile, load_profile, profile_names
from exmado_tui.config.settings import Settings
from exmado_tui.errors import ProfileError, WorkbookError
from exmado_tui.files import (
    check_output_folder,
    private_folder,
    sha256_of,
    write_atomically,
    write_private,
)
from exmado_tui.job.query_source import COLUMNS as QUERY_COLUMNS
from exmado_tui.job.query_source import KEY as QUERY_KEY
from exmado_tui.job.query_source import QuerySource, since_sentence
from exmado_tui.job.status import Event
from exmado_tui.store.models import Job, JobWorkbook
from exmado_tui.workbook.checks import (
    check_workbook,
    check_workbook_path,
    keep_private_copy,
    open_in_excel_warning,
)


@dataclass(frozen=True)
class JobRequest:
    """A new job: its rows' source (a workbook, or a DocuWare query), how it runs and who asks."""

    workbook: Path | QuerySource
    profile: str | None = None
    config: Mapping[str, Any] | None = None  # the job's own settings, laid over the profile's
    output: Path | None = None  # None: a folder of its own under [jobs] output_root
    name: str | None = None  # None: the workbook's name, or the query's cabinet
    user: str | None = None  # who asks, when not the actor (a payload's user_name)
    source: str = "cli"  # the door, as the job's `source` column keeps it
    start: bool = False  # queue it at once


@dataclass(frozen=True)
class NewJob:
    """What a workbook or a query gives a new job: its default name, the configuration it
    runs with, the workbook columns of the job, its first events, the workbook's bytes."""

    name: str
    snapshot: dict[str, Any]
    workbook: dict[str, str]
    events: list[Event]
    copy_of: Path | None = None  # the workbook to keep a private copy of
    content: bytes | None = None  # the copy's bytes, kept in the store too


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "job"


def workbook_job(
    settings: Settings, workbook: Path, profile: str | None, config: dict[str, Any] | None, by: str
) -> NewJob:
    """A workbook job, the workbook checked against the profile (copied once the output
    folder is checked too)."""
    check_workbook_path(workbook)
    snapshot = snapshot_of(settings, profile, config)
    check_workbook(workbook, snapshot, settings.workbooks)
    events = [Event(f"Created from {workbook.name} {by}.")]
    if warning := open_in_excel_warning(workbook):
        events.append(Event(warning, "warning"))
    named = {"workbook_name": workbook.name}
    return NewJob(workbook.stem, snapshot, named, events, copy_of=workbook)


def query_job(
    settings: Settings,
    query: QuerySource,
    profile: str | None,
    config: dict[str, Any] | None,
    by: str,
) -> NewJob:
    """A query job: the query's cabinet and its one column over the profile; the query
    kept in the snapshot, its text and SHA-256 where a workbook's would be."""
    own = {"cabinet": query.cabinet, "dialog": query.dialog, "columns": dict(QUERY_COLUMNS)}
    snapshot = {
        **snapshot_of(settings, profile, {**(config or {}), **own}),
        QUERY_KEY: query.to_dict(),
    }
    counted = "" if query.counted is None else f" ({query.counted:,} documents counted)"
    where = {
        "workbook_name": query.text,
        "workbook_path": "",
        "workbook_sha256": query.sha256,
        "query_fingerprint": query.fingerprint,
    }
    events = [Event(f"Created from the {query.text}{counted} {by}.")]
    if query.since_last_run:
        events.append(Event(since_sentence(query, settings.jobs.since_overlap_s)))
    return NewJob(slug(f"{query.cabinet}-query"), snapshot, where, events)


def snapshot_of(
    settings: Settings, profile: str | None, config: dict[str, Any] | None
) -> dict[str, Any]:
    """The profile as it is now, with the job's own settings laid over it."""
    base = load_profile(settings.profile_dirs, profile).to_dict() if profile else {}
    snapshot = {**base, **(config or {})}
    if not snapshot.get("cabinet") or not snapshot.get("columns"):
        known = ", ".join(profile_names(settings.profile_dirs)) or "none yet"
        raise ProfileError(
            f"A job needs a profile (--profile NAME; known: {known}) or a cabinet and a "
            "column → field map."
        )
    if config:
        # The profile was checked when it was read; the job's own settings were not.
        where = (
            f"Profile {profile!r} with the job's own settings"
            if profile
            else ("The job's settings")
        )
        check_profile(Profile.from_dict({"name": profile or "job", **snapshot}), where)
    return snapshot


def output_dir(settings: Settings, output: Path | None, name: str, job_id: str) -> str:
    """The output folder asked for (else one under `output_root`), checked writable."""
    folder = output or settings.jobs.output_root / f"{slug(name)}-{job_id[:8]}"
    absolute = Path(folder).expanduser().absolute()
    check_output_folder(absolute)
    return str(absolute)


# -- the job's workbook, on disk and in the store -------------------------------------------


def with_private_copy(data_dir: Path, made: NewJob, workbook: Path, job_id: str) -> NewJob:
    """`made` with `workbook` copied into the data folder, its bytes kept for the store."""
    copy, content, sha256 = _private_copy(data_dir, workbook, job_id)
    kept = {**made.workbook, "workbook_path": str(copy), "workbook_sha256": sha256}
    return replace(made, workbook=kept, content=content, copy_of=None)


def _private_copy(data_dir: Path, workbook: Path, job_id: str) -> tuple[Path, bytes, str]:
    """The job's own copy of `workbook`, its bytes and their SHA-256; nothing is left when
    it fails."""
    copy = data_dir / "workbooks" / job_id / workbook.name
    try:
        return copy, *keep_private_copy(workbook, copy)
    except OSError as exc:
        shutil.rmtree(copy.parent, ignore_errors=True)
        if exc.filename and Path(exc.filename) == workbook:
            raise WorkbookError(
                f"Workbook {workbook} cannot be read: {exc.strerror or exc}."
            ) from None
        raise WorkbookError(
            f"Workbook {workbook.name} cannot be copied into {copy.parent}: {exc.strerror or exc}."
        ) from None


def keep_in_store(job_id: str, content: bytes) -> None:
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
