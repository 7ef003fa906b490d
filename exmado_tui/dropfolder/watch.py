"""The drop folder: each complete workbook dropped into `<path>/<profile>/` becomes a job.

A file counts as complete when its size and time have not changed for `stable_s` seconds
(watchfiles reports a file as added while it is still being written). Then it becomes a job
and moves to `archive/DATE/`, or — not a workbook, in the wrong place, or a duplicate — moves
to `rejected/` with a `NAME.reason.txt` beside it. A duplicate is decided by content (SHA-256),
whatever the name: `[dropfolder] duplicates = "reject"` (the default) refuses it naming the
earlier job, `"accept"` makes a new job of every copy. The very file a job was made from (the
watcher stopped between "job created" and "file moved") is archived without a second job,
and that job is queued if the stopped watcher never did.
Every file accepted, rejected or skipped gets one log line, its name escaped.

Others may write here: a link, a hard link or a special file is refused unopened, and a job is
made from a private copy read through the checked descriptor (see `intake`). One file never
stops the watcher, nor does the folder being deleted (it is made again).
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import peewee
import watchfiles

from exmado_tui.config.profiles import profile_names
from exmado_tui.config.settings import DropFolderSettings, Duplicates
from exmado_tui.dropfolder.intake import (
    Taken,
    check_entry,
    duplicate_sentence,
    earlier_job,
    made_from,
    take,
)
from exmado_tui.errors import ExmadoError, PermanentError, QueueUnavailableError
from exmado_tui.files import PART_SUFFIX, blocking_file, first_free, fit, sha256_of, shown
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from exmado_tui.job.status import JobStatus
from exmado_tui.notify import outbox
from exmado_tui.notify.outbox import rejected_data
from exmado_tui.notify.targets import NoticeKind
from exmado_tui.store.identity import check_still, opened_store
from exmado_tui.workbook.checks import check_workbook_name, is_lock_file, open_in_excel_warning

LOGGER = "exmado.dropfolder"
log = logging.getLogger(LOGGER)
REASON_SUFFIX = ".reason.txt"
RETRY_S = 5  # seconds between tries to make a deleted drop folder again
INCOMING = "incoming"  # in the data folder: the private copies jobs are made from


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


def skipped_name(name: str) -> bool:
    """A hidden file or Excel's lock file: the watcher leaves it alone (and logs it once)."""
    return name.startswith(".") or is_lock_file(name)


def reason_file(rejected: Path) -> Path:
    """Where the reason for refusing `rejected` is written, beside it (a name at the limit is
    cut so that the suffix fits)."""
    return rejected.with_name(fit(rejected.name, REASON_SUFFIX))


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
        self.incoming = service.settings.data_dir / INCOMING
        self._seen: dict[Path, _Seen] = {}
        self._unqueued: set[str] = set()
        self._skipped: set[Path] = set()
        self._events = True  # watchfiles (OS events or its polling) until it fails on a name

    @property
    def profiles(self) -> list[str]:
        return profile_names(self.service.settings.profile_dirs)

    def folders(self) -> list[Path]:
        """The drop folder, one sub-folder per profile, archive/ and rejected/."""
        return [self.root, self.archive, self.rejected, *(self.root / n for n in self.profiles)]

    def prepare(self) -> None:
        """Create the folder, one sub-folder per profile, archive/ and rejected/."""
        for folder in self.folders():
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
        """What waits in profile sub-folders (and, wrongly placed, in the root): every entry but
        a real folder, so that links and special files are refused rather than followed."""
        skip = {self.archive, self.rejected}
        found = []
        for entry in _entries(self.root):
            if not _is_real_folder(entry):
                found.append(entry)
            elif entry not in skip:
                found.extend(p for p in _entries(entry) if not _is_real_folder(p))
        skipped = {p for p in found if skipped_name(p.name)}
        self._note_skipped(skipped)
        return [p for p in found if p not in skipped]

    def _note_skipped(self, skipped: set[Path]) -> None:
        """One log line for each hidden file or Excel lock file, when it first shows up."""
        for path in sorted(skipped - self._skipped):
            log.info(
                "skipped %s: a hidden file or an Excel lock file (~$), not a workbook",
                shown(str(path)),
            )
        self._skipped = skipped

    def tick(self) -> list[Outcome]:
        """Look at every waiting file once; ingest those that have settled."""
        outcomes = [o for o in map(self._ingest_one, self._settled()) if o is not None]
        self._queue_unqueued()
        return outcomes

    def _ingest_one(self, path: Path) -> Outcome | None:
        """`ingest`, where whatever goes wrong with one file is logged and tried again once the
        file has been quiet for `stable_s` once more: one file never stops the watcher. A store
        deleted or swapped meanwhile (`store.identity`) takes no job: the file waits."""
        try:
            check_still(opened_store())
            return self.ingest(path)
        except Exception as exc:
            log.warning(
                "could not take in %s (%s: %s); trying again in %g s",
                shown(str(path)),
                type(exc).__name__,
                exc,
                self.settings.stable_s,
            )
            return None

    def _settled(self) -> list[Path]:
        now, ready = self.clock(), []
        present = set(self.candidates())
        for path in list(self._seen):
            if path not in present:
                del self._seen[path]
        for path in present:
            try:
                status = os.lstat(path)  # a link's own size and time: it is never followed
            except OSError:  # gone, or in a folder that cannot be searched
                continue
            seen = self._seen.get(path)
            if seen is None or (seen.size, seen.mtime_ns) != (status.st_size, status.st_mtime_ns):
                self._seen[path] = _Seen(status.st_size, status.st_mtime_ns, now)
            elif now - seen.since >= self.settings.stable_s:
                # Quiet for stable_s: complete, so one that does not open now never will.
                ready.append(path)
        return sorted(ready)

    def ingest(self, path: Path) -> Outcome:
        """Create and start the job for one settled file, then move the file away."""
        self._seen.pop(path, None)
        try:
            self._check_entry(path)
            profile = self._profile_for(path)
            check_workbook_name(path)
            taken = self._take(path)
            try:
                job_id, how = self._job_for(path, taken, profile)
            finally:
                shutil.rmtree(taken.copy.parent, ignore_errors=True)
        except ExmadoError as exc:
            return self._reject(path, str(exc))
        if warning := open_in_excel_warning(path):
            log.warning("%s", warning)
        moved = self._move(path, self.archive / datetime.now(UTC).strftime("%Y-%m-%d"))
        log.info(
            "accepted %s: %s %s (archived as %s)",
            shown(path.name),
            how,
            job_id[:8],
            shown(str(moved)),
        )
        return Outcome(path, moved, job_id=job_id)

    def _check_entry(self, path: Path) -> None:
        try:
            check_entry(path)
        except FileNotFoundError:
            raise _gone(path) from None

    def _take(self, path: Path) -> Taken:
        try:
            return take(path, self.incoming)
        except FileNotFoundError:
            raise _gone(path) from None

    def _job_for(self, path: Path, taken: Taken, profile: str) -> tuple[str, str]:
        """The job this file makes (or made, before a restart), and how it came about."""
        earlier = earlier_job(sha256_of(taken.copy))
        if earlier is not None and made_from(path.name, taken.changed, earlier):
            if earlier.status == JobStatus.PENDING and earlier.queued_at is None:
                self._unqueued.add(earlier.id)  # a watcher stopped before it queued the job
                self._queue_unqueued()
            return earlier.id, "already job"
        if earlier is not None and self.settings.duplicates is Duplicates.REJECT:
            raise DuplicateError(duplicate_sentence(path, earlier))
        return self._create(taken, profile), "new job"

    def _profile_for(self, path: Path) -> str:
        known = self.profiles
        if path.parent == self.root or path.parent.name not in known:
            raise DropFolderError(
                f"{shown(path.name)} is not in a profile folder; drop it into one of "
                f"{', '.join(str(self.root / k) for k in known) or 'the profile folders'}."
            )
        return path.parent.name

    def _create(self, taken: Taken, profile: str) -> str:
        job = self.service.create(
            JobRequest(taken.copy, profile=profile, source="dropfolder", user=taken.owner)
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
        if not os.path.lexists(path):  # taken back by its owner after it settled
            log.warning("%s went away before it was read: %s", shown(path.name), reason)
            return Outcome(path, path, reason=reason)
        moved = self._move(path, self.rejected)
        write_reason(moved, reason)
        log.warning("rejected %s: %s", shown(path.name), reason)
        self._notify_rejected(path, moved, reason)
        return Outcome(path, moved, reason=reason)

    def _notify_rejected(self, path: Path, moved: Path, reason: str) -> None:
        """A notice for the [[notify]] targets; the file is rejected whether or not the store
        takes it (its reason file says why either way)."""
        data = rejected_data(
            shown(path.name), reason, shown(str(moved)), self.service.settings.host
        )
        try:
            outbox.add(NoticeKind.REJECTED, data)
        except peewee.PeeweeException as exc:
            log.warning("no notice of rejecting %s: the store refused it (%s)", data["file"], exc)

    def _move(self, path: Path, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = first_free(folder / path.name)
        shutil.move(str(path), target)
        return target

    def watch(self, stop: threading.Event) -> None:
        """Run until `stop` is set: OS events (or polling) wake the loop; ticks settle files. A
        drop folder deleted meanwhile is made again."""
        self._make_again(stop)  # retried: a folder deleted at this moment is no reason to stop
        shutil.rmtree(self.incoming, ignore_errors=True)  # copies a killed watcher left
        while not stop.is_set():
            self._tick_logged()
            for _ in self._wakeups(stop):
                if self._missing():
                    break
                self._tick_logged()
            self._make_again(stop)

    def _tick_logged(self) -> None:
        """`tick`, whatever goes wrong in it (the store away, Redis too) logged: the next tries
        again, and the watcher never exits on it."""
        try:
            self.tick()
        except Exception as exc:
            log.warning(
                "the drop folder's look failed (%s: %s); trying again", type(exc).__name__, exc
            )

    def _wakeups(self, stop: threading.Event) -> Iterator[object]:
        """Every tick or change; OS events until watchfiles fails (it cannot name a file whose
        name is not UTF-8), then a plain timer: each tick looks at every file anyway."""
        tick_s = min(max(self.settings.stable_s / 2, 0.1), 1.0)
        if self._events:
            try:
                yield from watchfiles.watch(
                    self.root,
                    stop_event=stop,
                    rust_timeout=int(tick_s * 1000),
                    yield_on_timeout=True,
                    force_polling=self.settings.poll,
                    debounce=int(tick_s * 1000),
                    raise_interrupt=False,
                )
                return
            except FileNotFoundError:
                return  # the drop folder went away: made again, then watched again
            except RuntimeError as exc:
                self._events = False
                log.warning(
                    "the drop folder's change events failed (%s); looking every %g s instead",
                    exc,
                    tick_s,
                )
        while not stop.wait(tick_s):
            yield None

    def _missing(self) -> list[Path]:
        return [folder for folder in self.folders() if not folder.is_dir()]

    def _make_again(self, stop: threading.Event) -> None:
        """Folders of the drop folder deleted (or a profile added): make them, trying every few
        seconds while they cannot be. (A file archived meanwhile may have made the root again.)"""
        while not stop.is_set() and (missing := self._missing()):
            try:
                self.prepare()
                log.warning("made %s again", ", ".join(shown(str(p)) for p in missing))
            except DropFolderError as exc:
                log.warning("%s Trying again in %d s.", exc, RETRY_S)
                stop.wait(RETRY_S)


class DropFolderError(PermanentError):
    """A dropped file is in the wrong place or is not a workbook."""


class DuplicateError(DropFolderError):
    """A dropped file's content made a job before (`[dropfolder] duplicates = "reject"`)."""


def write_reason(moved: Path, reason: str) -> None:
    """`NAME.reason.txt` beside a refused file, whole or not at all; a link planted under that
    name is replaced, never followed (the text goes to a new file, renamed over it)."""
    target = reason_file(moved)
    temp = target.with_name(f".{uuid.uuid4().hex}{PART_SUFFIX}")
    try:
        with open(temp, "x", encoding="utf-8") as handle:
            handle.write(reason + "\n")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _gone(path: Path) -> DropFolderError:
    return DropFolderError(f"Workbook {shown(str(path))} does not exist.")


def _entries(folder: Path) -> list[Path]:
    """What is in `folder` now; nothing when it is gone (deleted under the watcher) or cannot
    be listed (said in the log: its files wait)."""
    try:
        return list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        log.warning("cannot list %s (%s); its files wait", shown(str(folder)), exc.strerror)
        return []


def _is_real_folder(path: Path) -> bool:
    """A folder, not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
