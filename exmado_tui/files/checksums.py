"""SHA-256 of a file: workbooks, their copies, downloaded documents."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1024 * 1024


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of the file at `path`."""
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_with_sha256(path: Path) -> tuple[bytes, str]:
    """The bytes of the file at `path`, read once, and their hex SHA-256 (for a file that is
    wanted whole in memory anyway: a workbook the job store keeps)."""
    content = path.read_bytes()
    return content, hashlib.sha256(content).hexdigest()
