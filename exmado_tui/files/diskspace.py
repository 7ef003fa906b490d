"""A full disk (ENOSPC) or quota (EDQUOT) told apart from other write errors, and said in
one sentence naming the folder and its free space."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Any

from exmado_tui.config.settings import mask_url
from exmado_tui.errors import NoSpaceError, in_chain
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
