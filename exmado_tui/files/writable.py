"""A folder the workers may not write (permissions, a read-only mount, a file in its place):
found before a job is created or started, and told apart from other errors mid-job, where it
pauses the job as a full disk does (`diskspace.py`)."""

from __future__ import annotations

import errno
import getpass
import os
import tempfile
from pathlib import Path

from exmado_tui.errors import NotWritableError, in_chain
from exmado_tui.files.folders import blocking_file

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
