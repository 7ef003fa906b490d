"""Files written safely: replaced whole (a reader sees the old content or all of the new, even
after a crash), made owner-only from the first byte, in folders only their owner can read; and a
file's SHA-256, which proves what was written.

An atomic write fills a temporary file in the target's folder (so the rename is atomic), fsyncs
it, renames it over the target, and fsyncs the folder so that the rename itself survives a power
cut.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

PART_SUFFIX = ".exmado-part"
# A job's own temporary files (downloads, metadata files): `.exmado-<job id>-<uuid>.part`,
# removed at the job's next run if a killed one left them (pipeline/files.remove_partials).
JOB_PART_PREFIX = ".exmado-"
JOB_PART_SUFFIX = ".part"


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)  # Windows refuses to fsync a read-only descriptor
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move_into_place(temp: Path, target: Path, *, synced: bool = False) -> None:
    """Rename `temp` over `target` durably; `synced`: `temp` is fsynced already."""
    if not synced:
        fsync_file(temp)
    os.replace(temp, target)
    fsync_folder(target.parent)


def job_part_path(folder: Path, job_id: str) -> Path:
    """A fresh temporary name in `folder` that says which job it belongs to."""
    return folder / f"{JOB_PART_PREFIX}{job_id}-{uuid.uuid4().hex}{JOB_PART_SUFFIX}"


def write_atomically(target: Path, write: Callable[[Path], object]) -> Path:
    """`write(temp)` fills a temporary file beside `target`, which then replaces `target`
    durably; the temporary file does not outlive a failure."""
    temp = target.with_name(_temp_name(target, str(os.getpid())))
    try:
        write(temp)
        move_into_place(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def remove_leftovers(target: Path) -> int:
    """Delete the temporary files of `write_atomically(target)` that writers killed mid-write
    left (it removes its own on any error it lives through); how many."""
    removed = 0
    for path in target.parent.glob(_temp_name(target, "*")):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _temp_name(target: Path, pid: str) -> str:
    return f".{target.name}.{pid}{PART_SUFFIX}"


# -- owner-only folders and files --------------------------------------------------------------

OTHERS = stat.S_IRWXG | stat.S_IRWXO


def private_folder(folder: Path) -> Path:
    """Create `folder` (and missing parents) readable by its owner only.

    The data folder holds the store and private copies of every workbook — employee or
    invoice lists — that other users of a shared server must not read. An existing folder
    keeps the permissions its owner gave it.
    """
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for new in reversed(missing):
        new.mkdir(mode=0o700, exist_ok=True)
    return folder


def owner_only(path: Path) -> None:
    """Take group and others' access away from `path` (a folder or a file) when it is this
    user's: an existing data folder keeps no 755 or 644 its owner once gave it. Another
    user's, or one gone meanwhile, is left as it is."""
    try:
        info = path.stat()
        if info.st_uid == os.geteuid() and info.st_mode & OTHERS:
            path.chmod(stat.S_IMODE(info.st_mode) & ~OTHERS)
    except OSError:
        return


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path`, readable by its owner only from the first byte."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(handle, "wb") as file:
        os.fchmod(handle, 0o600)  # a file that was there keeps its old mode through O_CREAT
        file.write(content)


def blocking_file(path: Path) -> Path | None:
    """What stands where a folder on the way to `path` should be: the deepest existing
    ancestor-or-self that is not a folder (a file, a FIFO, a dangling link), or None."""
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return None
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return None


# -- SHA-256 -----------------------------------------------------------------------------------

CHUNK = 1024 * 1024


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of the file at `path`."""
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_with_sha256(path: Path) -> tuple[bytes, str]:
    """The bytes of the file at `path`, read once, and their hex SHA-256 (for a file that is
    wanted whole in memory anyway: a workbook the job store keeps)."""
    content = path.read_bytes()
    return content, hashlib.sha256(content).hexdigest()
