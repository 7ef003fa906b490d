"""Folders Éxmado creates for its own data."""

from __future__ import annotations

import os
import stat
from pathlib import Path

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
