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
