"""The drop folder: each complete workbook dropped into `<path>/<profile>/` becomes a job.

A file counts as complete when its size and time have not changed for `stable_s` seconds
(watchfiles reports a file as added while it is still being written). Then it becomes a job
and moves to `archive/DATE/`, or — not a workbook, in the wrong place, or a duplicate — moves
to `rejected/` with a `NAME.reason.txt` beside it. A duplicate is decided by content (SHA-256),
whatever the name: `[dropfolder] duplicates = "reject"` (the default) refuses it naming the
earlier job, `"accept"` makes a new job of every copy. The very file a job was made from (the
watcher stopped between "job created" and "file moved") is archived without a second job,
and that job is queued if the stopped watcher never did.
Every file accepted, rejected or skipped gets one log line.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import watchfiles

from exmado_tui.checksums import sha256_of
from exmado_tui.errors import ExmadoError, PermanentError, QueueUnavailableError
from exmado_tui.file_names import first_free
from exmado_tui.folders import blocking_file
from exmado_tui.jobs import JobService, check_workbook_path
from exmado_tui.lifecycle import JobStatus
from exmado_tui.models import Job
from exmado_tui.profiles import profile_names
from exmado_tui.settings import DropFolderSettings, Duplicates

LOGGER = "exmado.dropfolder"
log = logging.getLogger(LOGGER)
ZIP_SUFFIXES = (".xlsx", ".xlsm")
REASON_SUFFIX = ".reason.txt"


@dataclass(frozen=True)
class Outcome:
    """What became of one dropped file."""

    file: Path
    moved_to: Path
    job_id: str | None = None
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.job_id is not None


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float


def reason_file(rejected: Path) -> Path:
    """Where the reason for refusing `rejected` is written, beside it."""
    return rejected.with_name(rejected.name + REASON_SUFFIX)


class DropFolder:
    """Watches the drop folder and turns complete workbooks into started jobs."""

    def __init__(
        self,
        settings: DropFolderSettings,
        service: JobService,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.service = service
        self.clock = clock
        self.root = settings.path
        self.archive = self.root / settings.archive
        self.rejected = self.root / settings.rejected
        self._seen: dict[Path, _Seen] = {}
        self._unqueued: set[str] = set()
        self._skipped: set[Path] = set()

    def prepare(self) -> None:
        """Create the folder, one sub-folder per profile, archive/ and rejected/."""
        folders = [self.root, self.archive, self.rejected]
        folders += [self.root / n for n in profile_names(self.service.settings.profile_dirs)]
        for folder in folders:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                blocker = blocking_file(folder) or folder
                raise DropFolderError(
                    f"The drop folder {self.root} cannot be created: {blocker} is a file, not a"
                    " folder; "
                    + (
                        "set [dropfolder] path or EXMADO_DROP_FOLDER to a folder."
                        if not blocker.is_relative_to(self.root) or blocker == self.root
                        else "move that file away."
                    )
                ) from None
            except OSError as exc:
                raise DropFolderError(
                    f"The drop folder {self.root} cannot be created: {exc.strerror}"
                    f" ({exc.filename})."
                ) from None

    def candidates(self) -> list[Path]:
        """Files waiting in profile sub-folders (and, wrongly placed, in the root)."""
        skip = {self.archive, self.rejected}
        found = [p for p in self.root.iterdir() if p.is_file()]
        for folder in self.root.iterdir():
            if folder.is_dir() and folder not in skip:
                found.extend(p for p in folder.iterdir() if p.is_file())
        skipped = {p for p in found if p.name.startswith((".", "~$"))}
        self._note_skipped(skipped)
        return [p for p in found if p not in skipped]

    def _note_skipped(self, skipped: set[Path]) -> None:
        """One log line for each hidden file or Excel lock file, when it first shows up."""
        for path in sorted(skipped - self._skipped):
            log.info("skipped %s: a hidden file or an Excel lock file (~$), not a workbook", path)
        self._skipped = skipped

    def tick(self) -> list[Outcome]:
        """Look at every waiting file once; ingest those that have settled."""
        outcomes = [self.ingest(path) for path in self._settled()]
        self._queue_unqueued()
        return outcomes

    def _settled(self) -> list[Path]:
        now, ready = self.clock(), []
        present = set(self.candidates())
        for path in list(self._seen):
            if path not in present:
                del self._seen[path]
        for path in present:
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            seen = self._seen.get(path)
            if seen is None or (seen.size, seen.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                self._seen[path] = _Seen(stat.st_size, stat.st_mtime_ns, now)
            elif now - seen.since >= self.settings.stable_s:
                # Quiet for stable_s: complete, so one that does not open now never will.
                ready.append(path)
        return sorted(ready)

    def ingest(self, path: Path) -> Outcome:
        """Create and start the job for one settled file, then move the file away."""
        self._seen.pop(path, None)
        try:
            profile = self._profile_for(path)
            check_workbook_path(path)
            if path.suffix.lower() in ZIP_SUFFIXES and not zipfile.is_zipfile(path):
                raise_not_a_workbook(path)
            job_id, how = self._job_for(path, profile)
        except ExmadoError as exc:
            return self._reject(path, str(exc))
        moved = self._move(path, self.archive / datetime.now(UTC).strftime("%Y-%m-%d"))
        log.info("accepted %s: %s %s (archived as %s)", path.name, how, job_id[:8], moved)
        return Outcome(path, moved, job_id=job_id)

    def _job_for(self, path: Path, profile: str) -> tuple[str, str]:
        """The job this file makes (or made, before a restart), and how it came about."""
        earlier = earlier_job(sha256_of(path))
        if earlier is not None and made_from(path, earlier):
            if earlier.status == JobStatus.PENDING and earlier.queued_at is None:
                self._unqueued.add(earlier.id)  # a watcher stopped before it queued the job
                self._queue_unqueued()
            return earlier.id, "already job"
        if earlier is not None and self.settings.duplicates is Duplicates.REJECT:
            raise DuplicateError(duplicate_sentence(path, earlier))
        return self._create(path, profile), "new job"

    def _profile_for(self, path: Path) -> str:
        known = profile_names(self.service.settings.profile_dirs)
        if path.parent == self.root or path.parent.name not in known:
            raise DropFolderError(
                f"{path.name} is not in a profile folder; drop it into one of "
                f"{', '.join(str(self.root / k) for k in known) or 'the profile folders'}."
            )
        return path.parent.name

    def _create(self, path: Path, profile: str) -> str:
        job = self.service.create(
            path, profile=profile, source="dropfolder", user=_owner(path), start=False
        )
        self._unqueued.add(job.id)
        self._queue_unqueued()
        return job.id

    def _queue_unqueued(self) -> None:
        """Queue jobs created while Redis was away, once it is back."""
        for job_id in sorted(self._unqueued):
            try:
                self.service.start(job_id)
            except QueueUnavailableError as exc:
                log.warning("job %s waits to be queued: %s", job_id[:8], exc)
                return
            except ExmadoError:
                pass  # cancelled or deleted meanwhile: nothing to queue
            self._unqueued.discard(job_id)

    def _reject(self, path: Path, reason: str) -> Outcome:
        if not path.exists():  # taken back by its owner after it settled: nothing to move
            log.warning("%s went away before it was read: %s", path.name, reason)
            return Outcome(path, path, reason=reason)
        moved = self._move(path, self.rejected)
        reason_file(moved).write_text(reason + "\n", encoding="utf-8")
        log.warning("rejected %s: %s", path.name, reason)
        return Outcome(path, moved, reason=reason)

    def _move(self, path: Path, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = first_free(folder / path.name)
        shutil.move(str(path), target)
        return target

    def watch(self, stop: threading.Event) -> None:
        """Run until `stop` is set: OS events (or polling) wake the loop; ticks settle files."""
        self.prepare()
        self.tick()
        tick_ms = int(min(max(self.settings.stable_s / 2, 0.1), 1.0) * 1000)
        for _changes in watchfiles.watch(
            self.root,
            stop_event=stop,
            rust_timeout=tick_ms,
            yield_on_timeout=True,
            force_polling=self.settings.poll,
            debounce=tick_ms,
            raise_interrupt=False,
        ):
            self.tick()


class DropFolderError(PermanentError):
    """A dropped file is in the wrong place or is not a workbook."""


class DuplicateError(DropFolderError):
    """A dropped file's content made a job before (`[dropfolder] duplicates = "reject"`)."""


def earlier_job(digest: str) -> Job | None:
    """The first job made from a workbook with this SHA-256, from any source."""
    return Job.select().where(Job.workbook_sha256 == digest).order_by(Job.created_at).first()


def made_from(path: Path, job: Job) -> bool:
    """`job` was made from this very file by the drop folder, which stopped before moving it:
    the file has not been written, copied or moved in since (its ctime, which no one can set
    back, is older than the job)."""
    if job.source != "dropfolder" or job.workbook_name != path.name:
        return False
    changed = datetime.fromtimestamp(path.stat().st_ctime, UTC).replace(tzinfo=None)
    return changed < job.created_at


def duplicate_sentence(path: Path, job: Job) -> str:
    made = job.created_at.strftime("%Y-%m-%d %H:%M")
    return (
        f"{path.name} has the same content (SHA-256) as the workbook of job {job.id[:8]} "
        f"({job.name!r}, {job.status}, made {made} UTC); to run that job again use "
        f'`exmado jobs retry {job.id[:8]}`, or set [dropfolder] duplicates = "accept" and '
        "drop the file again to make a new job."
    )


def raise_not_a_workbook(path: Path) -> None:
    raise DropFolderError(
        f"{path.name} is not a readable Excel workbook; if it is password-protected, "
        "save a copy without a password."
    )


def _owner(path: Path) -> str:
    try:
        return path.owner()
    except (KeyError, OSError):
        return "dropfolder"
