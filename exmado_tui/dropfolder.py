"""The drop folder: each complete workbook dropped into `<path>/<profile>/` becomes a job.

A file counts as complete when it has been quiet for `stable_s` seconds, its size has not
changed, and (for .xlsx/.xlsm) it is a whole zip archive — watchfiles reports a file as added
while it is still being written. Accepted files move to `archive/`, refused ones to `rejected/`
with a `NAME.reason.txt` beside them. A file whose job already exists (same name and SHA-256,
from the drop folder) is archived without a second job, so a crash between "job created" and
"file moved" never duplicates work.
"""

from __future__ import annotations

import hashlib
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

from exmado_tui.errors import ExmadoError, PermanentError, QueueUnavailableError
from exmado_tui.folders import blocking_file
from exmado_tui.jobs import CHUNK, JobService, check_workbook_path
from exmado_tui.models import Job
from exmado_tui.profiles import profile_names
from exmado_tui.settings import DropFolderSettings

log = logging.getLogger("exmado.dropfolder")
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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def unique_target(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem (2).ext` and so on when taken."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    number = 2
    while target.exists():
        target = folder / f"{Path(name).stem} ({number}){Path(name).suffix}"
        number += 1
    return target


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
        return [p for p in found if not p.name.startswith((".", "~$"))]

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
            elif now - seen.since >= self.settings.stable_s and self._whole(path):
                ready.append(path)
        return sorted(ready)

    def _whole(self, path: Path) -> bool:
        """A zip-based workbook still being written has no central directory yet."""
        if path.suffix.lower() not in ZIP_SUFFIXES:
            return True
        seen = self._seen[path]
        # Give up waiting after ten quiet periods: then it is simply not a workbook.
        waited_long = self.clock() - seen.since >= 10 * max(self.settings.stable_s, 0.1)
        return zipfile.is_zipfile(path) or waited_long

    def ingest(self, path: Path) -> Outcome:
        """Create and start the job for one settled file, then move the file away."""
        self._seen.pop(path, None)
        try:
            profile = self._profile_for(path)
            check_workbook_path(path)
            if path.suffix.lower() in ZIP_SUFFIXES and not zipfile.is_zipfile(path):
                raise_not_a_workbook(path)
            job_id = self._existing_job(path) or self._create(path, profile)
        except ExmadoError as exc:
            return self._reject(path, str(exc))
        moved = self._move(path, self.archive / datetime.now(UTC).strftime("%Y-%m-%d"))
        log.info("%s → job %s (archived as %s)", path.name, job_id[:8], moved)
        return Outcome(path, moved, job_id=job_id)

    def _profile_for(self, path: Path) -> str:
        known = profile_names(self.service.settings.profile_dirs)
        if path.parent == self.root or path.parent.name not in known:
            raise DropFolderError(
                f"{path.name} is not in a profile folder; drop it into one of "
                f"{', '.join(str(self.root / k) for k in known) or 'the profile folders'}."
            )
        return path.parent.name

    def _existing_job(self, path: Path) -> str | None:
        digest = sha256_of(path)
        job = (
            Job.select(Job.id)
            .where(
                (Job.source == "dropfolder")
                & (Job.workbook_name == path.name)
                & (Job.workbook_sha256 == digest)
            )
            .first()
        )
        return job.id if job else None

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
        target = unique_target(folder, path.name)
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
