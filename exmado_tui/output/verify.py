"""`exmado jobs verify`: a job's output folder checked file by file against its manifest, and
every row of its workbook accounted for.

Each file gets a mark, as `rclone check` prints them: `=` the same, `*` changed, `-` missing,
`+` extra (in the folder, not in the manifest), `!` unreadable. Bounded: the manifest is read
an entry at a time into a temporary index (`manifest_index.py`), the folder is walked one
directory listing at a time in path order, and each file is hashed as a stream; a file or
folder that cannot be read is a `!` line with the reason, never an error that stops the walk.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path

from exmado_tui.job.status import RowStatus
from exmado_tui.output.manifest_index import Expected, ManifestIndex
from exmado_tui.output.report import MANIFEST_NAME, REPORT_NAME

OWN_FILES = frozenset({REPORT_NAME, MANIFEST_NAME})  # at the folder's root: not exported files
KEPT = 1000  # differences kept for --json and the event; the counts go on past it


class Mark(StrEnum):
    SAME = "="
    CHANGED = "*"
    MISSING = "-"
    EXTRA = "+"
    UNREADABLE = "!"


class Verdict(IntEnum):
    """How a verification ended, as its exit code."""

    ALL_MATCH = 0
    DIFFERENCES = 1
    COULD_NOT_VERIFY = 3


@dataclass(frozen=True)
class FileCheck:
    mark: Mark
    path: str  # relative, with forward slashes; a folder ends in /
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        return {"mark": self.mark.value, "path": self.path, "reason": self.reason}


@dataclass
class RowsAccount:
    """What became of every input row, from the store, and the exported rows the manifest
    names no file for."""

    counts: dict[RowStatus, int]
    unlisted: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def unaccounted(self) -> int:
        return self.counts.get(RowStatus.PENDING, 0) + len(self.unlisted)

    def to_json(self) -> dict[str, object]:
        named = {status.value: self.counts.get(status, 0) for status in RowStatus}
        return {"total": self.total, **named, "exported_without_file": self.unlisted[:KEPT]}


@dataclass
class FolderCheck:
    counts: Counter[Mark] = field(default_factory=Counter)
    differences: list[FileCheck] = field(default_factory=list)

    def add(self, check: FileCheck) -> None:
        self.counts[check.mark] += 1
        if check.mark is not Mark.SAME and len(self.differences) < KEPT:
            self.differences.append(check)

    @property
    def differ(self) -> int:
        return sum(n for mark, n in self.counts.items() if mark is not Mark.SAME)


def check_folder(
    root: Path, index: ManifestIndex, on_file: Callable[[FileCheck], None]
) -> FolderCheck:
    """Every file of `root` and of the manifest, each once, to `on_file` as it is decided:
    the folder's in path order, then the manifest's the walk did not meet."""
    result = FolderCheck()

    def decide(check: FileCheck) -> None:
        result.add(check)
        on_file(check)

    for rel, problem in _walk(root):
        if problem is not None:
            decide(FileCheck(Mark.UNREADABLE, rel, f"folder cannot be listed: {problem}"))
            continue
        expected = index.expected(rel)
        if expected is None:
            decide(FileCheck(Mark.EXTRA, rel, "not in the manifest"))
            continue
        index.mark_seen(rel)
        decide(compare(root / rel, rel, expected))
    for rel, expected in index.unseen():
        decide(_not_met(root / rel, rel, expected))
    return result


def compare(path: Path, rel: str, expected: Expected) -> FileCheck:
    """`=` or `*` for the file at `path` against its manifest entry; `!` when unreadable."""
    try:
        # O_NONBLOCK: a pipe put in the folder must not hang the check (no effect on files).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return FileCheck(Mark.UNREADABLE, rel, exc.strerror or str(exc))
    with os.fdopen(fd, "rb") as reader:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return FileCheck(Mark.UNREADABLE, rel, "not a regular file")
        if info.st_size != expected.size:
            why = f"{info.st_size:,} bytes, the manifest says {expected.size:,}"
            return FileCheck(Mark.CHANGED, rel, why)
        try:
            digest = hashlib.file_digest(reader, "sha256").hexdigest()
        except OSError as exc:
            return FileCheck(Mark.UNREADABLE, rel, exc.strerror or str(exc))
    if digest != expected.sha256:
        return FileCheck(Mark.CHANGED, rel, "same size, different SHA-256")
    return FileCheck(Mark.SAME, rel)


def _not_met(path: Path, rel: str, expected: Expected) -> FileCheck:
    """A manifest entry the walk did not meet: gone, or behind a folder it could not list."""
    try:
        path.lstat()
    except FileNotFoundError:
        return FileCheck(Mark.MISSING, rel, "in the manifest, not in the folder")
    except OSError as exc:
        return FileCheck(Mark.UNREADABLE, rel, exc.strerror or str(exc))
    return compare(path, rel, expected)


def _walk(root: Path) -> Iterator[tuple[str, str | None]]:
    """(relative path, None) for each non-folder under `root` in path order (a folder sorts as
    its name plus `/`, as its files' paths do), or (folder, why) for one that cannot be listed.
    Symbolic links to folders are not followed; Éxmado's own report and manifest are left out.
    """
    stack: list[tuple[str, bool]] = [("", True)]
    while stack:
        rel, is_folder = stack.pop()
        if not is_folder:
            yield rel, None
            continue
        try:
            with os.scandir(root / rel) as listing:
                names = sorted((e.name + "/" if _is_folder(e) else e.name) for e in listing)
        except OSError as exc:
            yield rel or "./", exc.strerror or str(exc)
            continue
        if not rel:
            names = [n for n in names if n not in OWN_FILES]
        stack.extend((f"{rel}{n}", n.endswith("/")) for n in reversed(names))


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
