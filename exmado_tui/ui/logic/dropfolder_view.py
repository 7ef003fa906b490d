"""What the drop-folder screen shows, read from disk: the profile folders, files waiting in them
and files refused (with the reason the watcher wrote beside each). No Textual here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from exmado_tui.config.profiles import profile_names
from exmado_tui.config.settings import DropFolderSettings
from exmado_tui.dropfolder.watch import REASON_SUFFIX, reason_file, skipped_name
from exmado_tui.files import shown
from exmado_tui.workbook.checks import WORKBOOK_SUFFIXES

LIMIT = 50


@dataclass(frozen=True)
class DroppedFile:
    name: str
    folder: str  # the profile sub-folder, or "rejected"
    modified: datetime  # naive UTC, like the store
    size: int
    reason: str = ""


@dataclass(frozen=True)
class DropFolderView:
    root: Path
    exists: bool
    profiles: tuple[str, ...]
    waiting: tuple[DroppedFile, ...]
    rejected: tuple[DroppedFile, ...]


def scan_dropfolder(settings: DropFolderSettings, profile_dirs: Sequence[Path]) -> DropFolderView:
    """The drop folder as the watcher sees it: only a folder named after a profile makes jobs
    (archive/, rejected/, other folders and loose files do not)."""
    root = settings.path
    if not root.is_dir():
        return DropFolderView(root, False, (), (), ())
    skip = {settings.archive, settings.rejected}
    named = (root / name for name in profile_names(profile_dirs) if name not in skip)
    folders = [p for p in named if p.is_dir()]
    waiting = _present(_file(p, p.parent.name) for f in folders for p in _workbooks(f))
    rejected_dir = root / settings.rejected
    rejected = _present(
        _file(p, settings.rejected, _reason(p))
        for p in (rejected_dir.iterdir() if rejected_dir.is_dir() else [])
        if p.is_file() and not p.name.endswith(REASON_SUFFIX)
    )
    return DropFolderView(
        root,
        True,
        tuple(f.name for f in folders),
        tuple(_newest(waiting)),
        tuple(_newest(rejected)),
    )


def _workbooks(folder: Path) -> list[Path]:
    """The workbooks the watcher will take (not Excel's lock files nor hidden ones)."""
    return [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in WORKBOOK_SUFFIXES and not skipped_name(p.name)
    ]


def _present(files: Iterable[DroppedFile | None]) -> list[DroppedFile]:
    return [f for f in files if f is not None]


def _file(path: Path, folder: str, reason: str = "") -> DroppedFile | None:
    """The file as it is now, or None when the watcher moved it away since it was listed."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
    return DroppedFile(shown(path.name), folder, modified, stat.st_size, reason)


def _reason(path: Path) -> str:
    try:
        return reason_file(path).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _newest(files: list[DroppedFile]) -> list[DroppedFile]:
    return sorted(files, key=lambda f: f.modified, reverse=True)[:LIMIT]
