"""A manifest's entries in a temporary SQLite file, for `exmado jobs verify` to look paths,
rows and documents up in without holding them in memory (a job of 100,000 files)."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from exmado_tui.output.manifest import Manifest

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
