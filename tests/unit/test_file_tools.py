"""The one set of file tools: SHA-256 of a file, durable atomic writes, `name (n).ext`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from exmado_tui.files import atomic
from exmado_tui.files.checksums import read_with_sha256, sha256_of
from exmado_tui.files.names import first_free


def test_sha256_of_a_file_read_in_chunks_or_whole(tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # more than one chunk
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    assert sha256_of(source) == expected
    assert read_with_sha256(source) == (source.read_bytes(), expected)


def test_first_free_numbers_from_two_and_skips_what_is_taken(tmp_path: Path) -> None:
    assert first_free(tmp_path / "r.pdf") == tmp_path / "r.pdf"
    for name in ("r.pdf", "r (2).pdf"):
        (tmp_path / name).touch()
    assert first_free(tmp_path / "r.pdf") == tmp_path / "r (3).pdf"
    (tmp_path / "noext").touch()
    assert first_free(tmp_path / "noext") == tmp_path / "noext (2)"


def test_an_atomic_write_syncs_the_file_then_renames_then_syncs_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        steps.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    def replace(source: Any, target: Any) -> None:
        steps.append(("replace", os.path.basename(target)))
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    target = tmp_path / "report.xlsx"
    atomic.write_atomically(target, lambda temp: temp.write_text("new"))
    temp_name = f".report.xlsx.{os.getpid()}{atomic.PART_SUFFIX}"
    assert steps == [("fsync", temp_name), ("replace", "report.xlsx"), ("fsync", tmp_path.name)]
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["report.xlsx"]


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    target.write_text("old")

    def half_then_fail(temp: Path) -> None:
        temp.write_text("ha")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic.write_atomically(target, half_then_fail)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["manifest.json"]
