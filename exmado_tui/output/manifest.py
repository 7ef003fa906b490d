"""Reading a job's `exmado-manifest.json` back, an entry at a time, and naming what an older
manifest does not record.

`report.py` writes the manifest's head one key a line and then one file's entry a line, so it
is read the same way: a manifest of 100,000 files costs the memory of one entry. A manifest
someone re-indented is still read, whole (`json.load`), since its lines no longer say where an
entry ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from exmado_tui.errors import PermanentError
from exmado_tui.output.report import MANIFEST_VERSION

FILES_LINE = '"files": ['
# What a manifest records of its job, by key, as a person reads it: older ones lack some.
RECORDED = {
    "created_by": "who created the job",
    "started_by": "who ran it",
    "server": "the DocuWare server",
    "cabinet": "the cabinet",
    "started_at": "when the job ran",
    "finished_at": "when it finished",
}


class ManifestError(PermanentError):
    """The manifest is missing or cannot be read: nothing can be verified against it."""


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    size: int
    sha256: str
    cabinet_id: str
    document_id: str
    modified: str | None  # ISO UTC text as written, None when the manifest has none
    rows: tuple[int, ...]


@dataclass(frozen=True)
class Manifest:
    path: Path
    head: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.head.get("manifest_version") or 1)

    def lacks(self) -> list[str]:
        """What this manifest does not record that a current one does, as phrases."""
        missing = [said for key, said in RECORDED.items() if not self.head.get(key)]
        if self.version < MANIFEST_VERSION:
            missing.append("the documents' modified dates")
        return missing

    def entries(self) -> Iterator[ManifestEntry]:
        """Every file's entry, read as needed."""
        try:
            with self.path.open(encoding="utf-8") as lines:
                yield from _entries_by_line(lines, self.path)
        except _NotByLine:
            yield from (_entry(raw, self.path) for raw in _whole(self.path).get("files") or [])
        except OSError as exc:
            raise _unreadable(self.path, exc) from None


def open_manifest(path: Path) -> Manifest:
    """The manifest's head; its entries are read later, by `Manifest.entries`."""
    try:
        with path.open(encoding="utf-8") as lines:
            head = _head_by_line(lines)
    except FileNotFoundError:
        raise ManifestError(f"There is no manifest at {path}.") from None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    except (_NotByLine, UnicodeDecodeError):
        whole = _whole(path)
        head = {k: v for k, v in whole.items() if k != "files"}
    return Manifest(path, head)


class _NotByLine(Exception):
    """The file is not laid out as `report.py` writes it."""


def _head_by_line(lines: Iterator[str]) -> dict[str, Any]:
    if next(lines, "").strip() != "{":
        raise _NotByLine
    head: dict[str, Any] = {}
    for line in lines:
        text = line.strip()
        if text == FILES_LINE:
            return head
        try:
            head.update(json.loads("{" + text.rstrip(",") + "}"))
        except ValueError:
            raise _NotByLine from None
    raise _NotByLine


def _entries_by_line(lines: Iterator[str], path: Path) -> Iterator[ManifestEntry]:
    for line in lines:
        if line.strip() == FILES_LINE:
            break
    else:
        raise _NotByLine
    for read, line in enumerate(lines):
        text = line.strip()
        if text in ("]", ""):
            return
        try:
            raw = json.loads(text.rstrip(","))
        except ValueError:
            if not read:  # laid out otherwise from its first entry on: read it whole
                raise _NotByLine from None
            raise ManifestError(
                f"The manifest {path} is cut or damaged near {text[:60]!r}."
            ) from None
        yield _entry(raw, path)
    raise ManifestError(f"The manifest {path} ends before its list of files does.")


def _entry(raw: Any, path: Path) -> ManifestEntry:
    try:
        return ManifestEntry(
            path=str(raw["path"]),
            size=int(raw["size"]),
            sha256=str(raw["sha256"]),
            cabinet_id=str(raw.get("cabinet_id") or ""),
            document_id=str(raw.get("document_id") or ""),
            modified=raw.get("modified"),
            rows=tuple(int(n) for n in raw.get("rows") or ()),
        )
    except (KeyError, TypeError, ValueError):
        raise ManifestError(
            f"The manifest {path} has an entry without a path, size or sha256: {str(raw)[:80]}."
        ) from None


def _whole(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as reader:
            data = json.load(reader)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    except ValueError:
        raise ManifestError(f"The manifest {path} is not JSON (damaged, or not one).") from None
    if not isinstance(data, dict):
        raise ManifestError(f"The manifest {path} is not an Éxmado manifest.")
    return cast("dict[str, Any]", data)


def _unreadable(path: Path, exc: OSError) -> ManifestError:
    return ManifestError(f"The manifest {path} cannot be read: {exc.strerror or exc}.")
