"""`exmado jobs verify`: a job's output folder checked file by file against its manifest, every
row of its workbook accounted for, and (when asked, `verify_remote.py`) DocuWare's documents;
the sentence that sums it up and the event that keeps it (`verify_job`, `verify_and_record`).

Each file gets a mark, as `rclone check` prints them: `=` the same, `*` changed, `-` missing,
`+` extra (in the folder, not in the manifest), `!` unreadable. Bounded: the manifest is read
an entry at a time into a temporary index (`manifest.py`), the folder is walked one
directory listing at a time in path order, and each file is hashed as a stream; a file or
folder that cannot be read is a `!` line with the reason, never an error that stops the walk.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exmado_tui.config.profiles import Profile
from exmado_tui.config.settings import Settings
from exmado_tui.errors import ExmadoError
from exmado_tui.job.actor import Actor
from exmado_tui.job.status import EventLevel, RowStatus
from exmado_tui.job.transitions import record_event
from exmado_tui.output.manifest import (
    Expected,
    ManifestError,
    ManifestIndex,
    indexed,
    open_manifest,
)
from exmado_tui.output.report import MANIFEST_NAME, MANIFEST_VERSION, REPORT_NAME
from exmado_tui.store.models import Job, JobRow
from exmado_tui.store.queries import row_counts

if TYPE_CHECKING:  # DocuWare's client loads httpx: only --remote needs it
    from exmado_tui.output.verify_remote import RemoteCheck, Sample


OWN_FILES = frozenset({REPORT_NAME, MANIFEST_NAME})  # at the folder's root: not exported files
KEPT = 1000  # differences kept for --json and the event; the counts go on past it


class Mark(StrEnum):
    SAME = "="
    CHANGED = "*"
    MISSING = "-"
    EXTRA = "+"
    UNREADABLE = "!"


class Verdict(IntEnum):
    """How a verification ended, as its exit code."""

    ALL_MATCH = 0
    DIFFERENCES = 1
    COULD_NOT_VERIFY = 3


@dataclass(frozen=True)
class FileCheck:
    mark: Mark
    path: str  # relative, with forward slashes; a folder ends in /
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        return {"mark": self.mark.value, "path": self.path, "reason": self.reason}


@dataclass
class RowsAccount:
    """What became of every input row, from the store, and the exported rows the manifest
    names no file for."""

    counts: dict[RowStatus, int]
    unlisted: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def unaccounted(self) -> int:
        return self.counts.get(RowStatus.PENDING, 0) + len(self.unlisted)

    def to_json(self) -> dict[str, object]:
        named = {status.value: self.counts.get(status, 0) for status in RowStatus}
        return {"total": self.total, **named, "exported_without_file": self.unlisted[:KEPT]}


@dataclass
class FolderCheck:
    counts: Counter[Mark] = field(default_factory=Counter)
    differences: list[FileCheck] = field(default_factory=list)

    def add(self, check: FileCheck) -> None:
        self.counts[check.mark] += 1
        if check.mark is not Mark.SAME and len(self.differences) < KEPT:
            self.differences.append(check)

    @property
    def differ(self) -> int:
        return sum(n for mark, n in self.counts.items() if mark is not Mark.SAME)


def check_folder(
    root: Path, index: ManifestIndex, on_file: Callable[[FileCheck], None]
) -> FolderCheck:
    """Every file of `root` and of the manifest, each once, to `on_file` as it is decided:
    the folder's in path order, then the manifest's the walk did not meet."""
    result = FolderCheck()

    def decide(check: FileCheck) -> None:
        result.add(check)
        on_file(check)

    for rel, problem in _walk(root):
        if problem is not None:
            decide(FileCheck(Mark.UNREADABLE, rel, f"folder cannot be listed: {problem}"))
            continue
        expected = index.expected(rel)
        if expected is None:
            decide(FileCheck(Mark.EXTRA, rel, "not in the manifest"))
            continue
        index.mark_seen(rel)
        decide(compare(root / rel, rel, expected))
    for rel, expected in index.unseen():
        decide(_not_met(root / rel, rel, expected))
    return result


def compare(path: Path, rel: str, expected: Expected) -> FileCheck:
    """`=` or `*` for the file at `path` against its manifest entry; `!` when unreadable."""
    try:
        # O_NONBLOCK: a pipe put in the folder must not hang the check (no effect on files).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return FileCheck(Mark.UNREADABLE, rel, exc.strerror or str(exc))
    with os.fdopen(fd, "rb") as reader:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return FileCheck(Mark.UNREADABLE, rel, "not a regular file")
        if info.st_size != expected.size:
            why = f"{info.st_size:,} bytes, the manifest says {expected.size:,}"
            return FileCheck(Mark.CHANGED, rel, why)
        try:
            digest = hashlib.file_digest(reader, "sha256").hexdigest()
        except OSError as exc:
            return FileCheck(Mark.UNREADABLE, rel, exc.strerror or str(exc))
    if digest != expected.sha256:
        return FileCheck(Mark.CHANGED, rel, "same size, different SHA-256")
    return FileCheck(Mark.SAME, rel)


def _not_met(path: Path, rel: str, expected: Expected) -> FileCheck:
    """A manifest entry the walk did not meet: gone, or behind a folder it could not list."""
    try:
        path.lstat()
    except FileNotFoundError:
        return FileCheck(Mark.MISSING, rel, "in the manifest, not in the folder")
    except OSError as exc:
        return FileCheck(Mark.UNREADABLE, rel, exc.strerror or str(exc))
    return compare(path, rel, expected)


def _walk(root: Path) -> Iterator[tuple[str, str | None]]:
    """(relative path, None) for each non-folder under `root` in path order (a folder sorts as
    its name plus `/`, as its files' paths do), or (folder, why) for one that cannot be listed.
    Symbolic links to folders are not followed; Éxmado's own report and manifest are left out.
    """
    stack: list[tuple[str, bool]] = [("", True)]
    while stack:
        rel, is_folder = stack.pop()
        if not is_folder:
            yield rel, None
            continue
        try:
            with os.scandir(root / rel) as listing:
                names = sorted((e.name + "/" if _is_folder(e) else e.name) for e in listing)
        except OSError as exc:
            yield rel or "./", exc.strerror or str(exc)
            continue
        if not rel:
            names = [n for n in names if n not in OWN_FILES]
        stack.extend((f"{rel}{n}", n.endswith("/")) for n in reversed(names))


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


MARK_WORDS = {
    Mark.CHANGED: "changed",
    Mark.MISSING: "missing",
    Mark.EXTRA: "extra",
    Mark.UNREADABLE: "unreadable",
}
ROW_WORDS = {
    RowStatus.DONE: "exported",
    RowStatus.NOT_FOUND: "not found",
    RowStatus.SKIPPED: "skipped",
    RowStatus.FAILED: "failed",
}


@dataclass
class Verification:
    job_id: str
    output_dir: str
    manifest: str
    manifest_version: int
    lacks: list[str]
    folder: FolderCheck
    rows: RowsAccount
    remote: RemoteCheck | None = None

    @property
    def verdict(self) -> Verdict:
        remote = self.remote.differ if self.remote else 0
        if self.folder.differ or self.rows.unaccounted or remote:
            return Verdict.DIFFERENCES
        return Verdict.ALL_MATCH

    def parts(self) -> list[str]:
        """The result, a line each: files, rows, DocuWare, and what the manifest lacks."""
        parts = [_files_part(self.folder), _rows_part(self.rows)]
        if self.remote is not None:
            parts.append(_remote_part(self.remote))
        if self.lacks:
            older = f" (version {self.manifest_version}, from an older Éxmado)"
            older = older if self.manifest_version < MANIFEST_VERSION else ""
            parts.append(f"manifest{older}: does not record " + ", ".join(self.lacks))
        return parts

    def summary(self) -> str:
        return "; ".join(self.parts()) + "."

    def to_json(self) -> dict[str, Any]:
        return {
            "job": self.job_id,
            "result": self.verdict.name.lower(),
            "exit_code": int(self.verdict),
            "output_dir": self.output_dir,
            "manifest": self.manifest,
            "manifest_version": self.manifest_version,
            "manifest_lacks": self.lacks,
            "files": {mark.value: self.folder.counts.get(mark, 0) for mark in Mark},
            "differences": [d.to_json() for d in self.folder.differences],
            "rows": self.rows.to_json(),
            "remote": self.remote.to_json() if self.remote else None,
            "summary": self.summary(),
        }


def verify_job(
    job_id: str,
    settings: Settings,
    on_file: Callable[[FileCheck], None] = lambda check: None,
    *,
    remote: bool = False,
    sample: Sample | None = None,
) -> Verification:
    """Verify job `job_id` (a full id); `on_file` hears each file's line as it is decided.

    Raises ManifestError when there is no manifest to verify against, and DocuWare's errors
    when `remote` (or `sample`) cannot ask it.
    """
    job = Job.get_by_id(job_id)
    manifest = open_manifest(Path(job.output_dir) / MANIFEST_NAME)
    if manifest.head.get("job") not in (None, job.id):
        raise ManifestError(
            f"The manifest {manifest.path} belongs to job {manifest.head['job']}, "
            f"not to job {job.id[:8]}."
        )
    with indexed(manifest) as index:
        folder = check_folder(Path(job.output_dir), index, on_file)
        rows = account_rows(job.id, index)
        checked = _ask_docuware(job, settings, index, on_file, sample) if remote else None
    where = str(manifest.path)
    lacks = manifest.lacks()
    return Verification(
        job.id, job.output_dir, where, manifest.version, lacks, folder, rows, checked
    )


def account_rows(job_id: str, index: ManifestIndex) -> RowsAccount:
    """The rows by status, and the exported ones no manifest entry names."""
    unlisted = [n for n in _exported_rows(job_id) if not index.lists_row(n)]
    return RowsAccount(row_counts(job_id), unlisted)


def record_verification(job_id: str, verification: Verification, actor: Actor) -> None:
    level: EventLevel = "info" if verification.verdict is Verdict.ALL_MATCH else "warning"
    record_event(job_id, f"Verified by {actor}: {verification.summary()}", level)


def record_unverified(job_id: str, reason: str, actor: Actor) -> None:
    record_event(job_id, f"Verification by {actor} could not be done: {reason}", "warning")


def verify_and_record(job_id: str, settings: Settings, actor: Actor) -> tuple[Verdict, str]:
    """The dashboard's Verify: the folder and rows checked (DocuWare is not asked), the result
    in the job's events; the verdict and its sentence."""
    try:
        done = verify_job(job_id, settings)
    except ExmadoError as exc:
        record_unverified(job_id, str(exc), actor)
        return Verdict.COULD_NOT_VERIFY, str(exc)
    record_verification(job_id, done, actor)
    return done.verdict, done.summary()


def _ask_docuware(
    job: Job,
    settings: Settings,
    index: ManifestIndex,
    on_file: Callable[[FileCheck], None],
    sample: Sample | None,
) -> RemoteCheck:
    from exmado_tui.output.verify_remote import RemoteVerifier

    profile = Profile.from_dict({"name": job.profile or "job", **(job.config or {})})
    verifier = RemoteVerifier(
        index, settings.docuware, profile, on_file, sample, settings.jobs.max_document_mb
    )
    return asyncio.run(verifier.run())


def _exported_rows(job_id: str) -> Iterator[int]:
    query = (
        JobRow.select(JobRow.row_number)
        .where((JobRow.job == job_id) & (JobRow.status == RowStatus.DONE))
        .order_by(JobRow.row_number)
        .tuples()
    )
    for (number,) in query.iterator():
        yield number


def _files_part(folder: FolderCheck) -> str:
    same = folder.counts.get(Mark.SAME, 0)
    kinds = [f"{folder.counts[m]} {word}" for m, word in MARK_WORDS.items() if folder.counts[m]]
    if not kinds:
        return f"files: {same} as exported, no difference"
    return f"files: {same} as exported, {folder.differ} differences ({', '.join(kinds)})"


def _rows_part(rows: RowsAccount) -> str:
    kinds = [f"{rows.counts.get(status, 0)} {word}" for status, word in ROW_WORDS.items()]
    if ambiguous := rows.counts.get(RowStatus.AMBIGUOUS, 0):
        kinds.append(f"{ambiguous} several found")
    if pending := rows.counts.get(RowStatus.PENDING, 0):
        kinds.append(f"{pending} not done yet")
    if rows.unlisted:
        kinds.append(f"{len(rows.unlisted)} exported without a file in the manifest")
    return f"rows: {rows.total} ({', '.join(kinds)})"


def _remote_part(remote: RemoteCheck) -> str:
    text = (
        f"DocuWare: {remote.asked} documents asked, {remote.counts.get('modified', 0)} "
        f"modified since, {remote.counts.get('deleted', 0)} deleted"
    )
    if remote.undated:
        text += f" ({remote.undated} without a modified date to compare)"
    if remote.sampled:
        changed = remote.counts.get("sample_changed", 0)
        text += f"; {remote.sampled} downloaded again, {changed} with different content"
    return text
