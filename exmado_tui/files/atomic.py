"""Files replaced whole: a reader sees the old content or all of the new, even after a crash.

The new content is written under a temporary name in the target's folder (so the rename is
atomic), fsynced, renamed over the target, and the folder is fsynced so that the rename itself
survives a power cut.
"""

from __future__ import annotations

import os
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
