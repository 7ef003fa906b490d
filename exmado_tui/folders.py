"""Folders Éxmado creates for its own data."""

from __future__ import annotations

from pathlib import Path


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


def blocking_file(path: Path) -> Path | None:
    """What stands where a folder on the way to `path` should be: the deepest existing
    ancestor-or-self that is not a folder (a file, a FIFO, a dangling link), or None."""
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return None
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return None
