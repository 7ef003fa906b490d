"""A dropped file taken in safely: a regular file of its own, never a link, copied through the
descriptor that was checked into an owner-only folder, from which its job is made; and a dropped
workbook seen before: the job its content (SHA-256) made, whether the drop folder made that job
from this very file (and stopped before moving it), and the sentence that refuses a copy with
what works for that job's status.

Other people may write into the drop folder. A symbolic link, a hard link or a device there
would have the watcher read — and quote in a reason — a file its author cannot read, so each is
refused from `lstat` without being opened. Opening with O_NOFOLLOW and checking the opened
descriptor (`fstat`) closes the race of a file swapped for a link between check and open; the
job is made from the copy, so a file swapped after that changes nothing.
"""

from __future__ import annotations

import errno
import os
import pwd
import shutil
import stat
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from exmado_tui.errors import PermanentError
from exmado_tui.files import private_folder, shown
from exmado_tui.job.status import RETRYABLE, JobStatus
from exmado_tui.store.models import Job

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class NotARegularFile(PermanentError):
    """A dropped entry that is a link, a hard link or a special file: refused unopened."""


@dataclass(frozen=True)
class Taken:
    """A private copy of a dropped file, and what its descriptor said about the original."""

    copy: Path  # named like the dropped file, alone in its own folder
    owner: str
    changed: datetime  # the original's ctime, naive UTC like the store


def take(path: Path, into: Path) -> Taken:
    """Copy the regular file at `path` into a new owner-only folder under `into`; refuse a
    link, a hard link or a special file in one sentence. FileNotFoundError when it is gone."""
    check_entry(path)
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a link since lstat
            raise NotARegularFile(_link_sentence(path.name)) from None
        raise
    with os.fdopen(fd, "rb") as source:
        opened = os.fstat(source.fileno())
        refuse_unless_regular(opened, path.name)
        copy = private_folder(into / uuid.uuid4().hex) / path.name
        with open(copy, "xb") as target:
            shutil.copyfileobj(source, target)
    changed = datetime.fromtimestamp(opened.st_ctime, UTC).replace(tzinfo=None)
    return Taken(copy, _owner(opened.st_uid), changed)


def check_entry(path: Path) -> None:
    """Refuse what `path` itself is (never what a link points to) unless a file of its own."""
    refuse_unless_regular(os.lstat(path), path.name)


def refuse_unless_regular(status: os.stat_result, name: str) -> None:
    """Refuse, in one sentence, anything but a regular file with no other name."""
    mode = status.st_mode
    if stat.S_ISLNK(mode):
        raise NotARegularFile(_link_sentence(name))
    if not stat.S_ISREG(mode):
        raise NotARegularFile(
            f"{shown(name)} is {_kind(mode)}, not a file; drop the workbook itself."
        )
    if status.st_nlink > 1:
        raise NotARegularFile(
            f"{shown(name)} is a hard link to a file that has {status.st_nlink} names; the drop "
            "folder takes only files of their own: copy the workbook in instead of linking it."
        )


def _link_sentence(name: str) -> str:
    return (
        f"{shown(name)} is a symbolic link, which the drop folder never follows; copy the "
        "workbook itself into the folder."
    )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "dropfolder"


# -- a workbook dropped before -------------------------------------------------------------------


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
