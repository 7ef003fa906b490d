"""Writes a folder cannot take, told apart from other errors and said in one sentence naming
the folder: a full disk (ENOSPC) or quota (EDQUOT), with its free space; a folder the workers
may not write (permissions, a read-only mount, a file in its place), also found before a job
is created or started. Mid-job, either pauses the job rather than failing its rows.
"""

from __future__ import annotations

import errno
import getpass
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from exmado_tui.config.settings import mask_url
from exmado_tui.errors import NoSpaceError, NotWritableError, in_chain
from exmado_tui.files.writing import blocking_file
from exmado_tui.formatting import size
from exmado_tui.store.db import sqlite_file

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# What SQLite and PostgreSQL say when their disk is full (their errors carry no errno).
NO_SPACE_MARKERS = ("database or disk is full", "no space left on device", "disk quota exceeded")


def is_no_space(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) says the disk or the quota is full."""
    return in_chain(exc, _says_no_space)


def _says_no_space(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS:
        return True
    return any(marker in str(exc).lower() for marker in NO_SPACE_MARKERS)


def free_bytes(folder: Path) -> int:
    """Free bytes on the file system holding `folder` (or its nearest existing ancestor)."""
    usage = disk_usage(folder)
    return usage.free if usage else 0


def disk_usage(folder: Path) -> Any:
    """`shutil.disk_usage` of the file system holding `folder` (or its nearest existing
    ancestor: a folder not made yet will be made there); None when none can be read."""
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate)
        except OSError:
            continue
    return None


def no_space(folder: Path, what: str = "") -> NoSpaceError:
    """`No space left in /out (12.0 KB free)`, `what` naming whose folder it is."""
    whose = f"{what} " if what else ""
    return NoSpaceError(
        f"No space left in {whose}{folder} ({size(free_bytes(folder))} free)", folder=str(folder)
    )


def store_full(url: str) -> NoSpaceError:
    """The job store's disk is full: its folder for SQLite, its server for PostgreSQL."""
    path = sqlite_file(url)
    if path is not None:
        return no_space(path.parent, "the job store's folder")
    store = mask_url(url)
    return NoSpaceError(f"No space left for the job store {store} on its server", folder=store)


NOT_PERMITTED_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
CHOOSE_ANOTHER = "or choose another output folder (--output, or [jobs] output_root)"


def is_not_permitted(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) is a write the system refused."""
    return in_chain(exc, lambda e: isinstance(e, OSError) and e.errno in NOT_PERMITTED_ERRNOS)


def not_writable(folder: Path, exc: BaseException) -> NotWritableError:
    """`The output folder /out cannot be written (Read-only file system)`, met mid-job."""
    reason = _reason(exc)
    return NotWritableError(
        f"The output folder {folder} cannot be written ({reason})", folder=str(folder)
    )


def check_output_folder(folder: Path) -> None:
    """Raise NotWritableError, one sentence with its fix, unless a file can be made in
    `folder` (or, not there yet, in the folder it would be created in)."""
    problem = output_folder_problem(folder)
    if problem:
        raise NotWritableError(
            f"The output folder {folder} {problem}; make it writable for the user the workers "
            f"run as, {CHOOSE_ANOTHER}.",
            folder=str(folder),
        )


def output_folder_problem(folder: Path) -> str:
    """Why no file can be made in `folder` ("cannot be written by user ana (Permission
    denied)"), or "" when one can."""
    blocker = blocking_file(folder)
    if blocker is not None:
        return f"cannot be created: {blocker} is a file, not a folder"
    existing = next(p for p in (folder, *folder.parents) if p.is_dir())
    try:
        handle, probe = tempfile.mkstemp(prefix=".exmado-probe-", dir=existing)
    except OSError as exc:
        return f"cannot be written by user {getpass.getuser()} ({_reason(exc)})"
    os.close(handle)
    os.unlink(probe)
    return ""


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
