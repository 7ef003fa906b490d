"""Reading a job's `exmado-manifest.json` back, an entry at a time, naming what an older
manifest does not record, and indexing its entries in a temporary SQLite file.

`report.py` writes the manifest's head one key a line and then one file's entry a line, so it
is read the same way: a manifest of 100,000 files costs the memory of one entry. A manifest
someone re-indented is still read, whole (`json.load`), since its lines no longer say where an
entry ends. `exmado jobs verify` looks paths, rows and documents up in the index (`indexed`,
`ManifestIndex`) without holding them in memory.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
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


BATCH = 1000
SCHEMA = """
CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, sha256 TEXT, cabinet TEXT,
                    document TEXT, modified TEXT, seen INTEGER NOT NULL DEFAULT 0);
CREATE INDEX files_document ON files (cabinet, document);
CREATE TABLE rows (number INTEGER PRIMARY KEY);
"""


@dataclass(frozen=True)
class Expected:
    size: int
    sha256: str


@dataclass(frozen=True)
class ExportedDocument:
    """One DocuWare document the job exported, with its modified date as exported."""

    cabinet_id: str
    document_id: str
    modified: str | None  # ISO UTC text; None: the manifest does not say


class ManifestIndex:
    """The entries of one manifest, indexed by path and by document."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def load(self, manifest: Manifest) -> None:
        entries = manifest.entries()
        while chunk := list(islice(entries, BATCH)):
            self.db.executemany(
                "INSERT OR REPLACE INTO files (path, size, sha256, cabinet, document, modified)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (e.path, e.size, e.sha256, e.cabinet_id, e.document_id, e.modified)
                    for e in chunk
                ],
            )
            numbers = [(n,) for e in chunk for n in e.rows]
            self.db.executemany("INSERT OR IGNORE INTO rows VALUES (?)", numbers)

    def expected(self, path: str) -> Expected | None:
        found = self.db.execute("SELECT size, sha256 FROM files WHERE path = ?", (path,)).fetchone()
        return Expected(*found) if found else None

    def mark_seen(self, path: str) -> None:
        self.db.execute("UPDATE files SET seen = 1 WHERE path = ?", (path,))

    def unseen(self) -> Iterator[tuple[str, Expected]]:
        """The entries the folder walk did not meet, in path order."""
        query = "SELECT path, size, sha256 FROM files WHERE seen = 0 ORDER BY path"
        for path, size, sha in self.db.execute(query).fetchall():
            yield path, Expected(size, sha)

    def lists_row(self, number: int) -> bool:
        found = self.db.execute("SELECT 1 FROM rows WHERE number = ?", (number,)).fetchone()
        return found is not None

    def documents(self) -> Iterator[ExportedDocument]:
        query = (
            "SELECT cabinet, document, MAX(modified) FROM files WHERE document != ''"
            " GROUP BY cabinet, document ORDER BY cabinet, document"
        )
        for cabinet, document, modified in self.db.execute(query):
            yield ExportedDocument(cabinet, document, modified)

    def document_count(self) -> int:
        query = "SELECT COUNT(*) FROM (SELECT 1 FROM files WHERE document != ''"
        return int(self.db.execute(query + " GROUP BY cabinet, document)").fetchone()[0])

    def files_of(self, doc: ExportedDocument) -> list[Expected]:
        query = "SELECT size, sha256 FROM files WHERE cabinet = ? AND document = ? ORDER BY path"
        rows = self.db.execute(query, (doc.cabinet_id, doc.document_id))
        return [Expected(size, sha) for size, sha in rows]


@contextmanager
def indexed(manifest: Manifest) -> Iterator[ManifestIndex]:
    """The manifest's entries in a private temporary file, removed at the end."""
    with tempfile.TemporaryDirectory(prefix="exmado-verify-") as folder:
        db = sqlite3.connect(Path(folder) / "manifest.db", isolation_level=None)
        try:
            db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + SCHEMA)
            db.execute("BEGIN")
            index = ManifestIndex(db)
            index.load(manifest)
            yield index
        finally:
            db.close()
