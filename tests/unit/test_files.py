"""The file tools: SHA-256 of a file, durable atomic writes, `name (n).ext`; and the data folder
and what Éxmado keeps in it, readable by their owner only."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from exmado_tui import files
from exmado_tui.files import blocking_file, first_free, private_folder, read_with_sha256, sha256_of
from exmado_tui.store.db import open_database
from exmado_tui.workbook.checks import keep_private_copy


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

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    target = tmp_path / "report.xlsx"
    files.write_atomically(target, lambda temp: temp.write_text("new"))
    temp_name = f".report.xlsx.{os.getpid()}{files.PART_SUFFIX}"
    assert steps == [("fsync", temp_name), ("replace", "report.xlsx"), ("fsync", tmp_path.name)]
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["report.xlsx"]


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    target.write_text("old")

    def half_then_fail(temp: Path) -> None:
        temp.write_text("ha")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        files.write_atomically(target, half_then_fail)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["manifest.json"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_folders_and_their_missing_parents_are_owner_only(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir(mode=0o755)
    folder = private_folder(tmp_path / "shared" / "data" / "workbooks")
    assert mode(folder) == mode(folder.parent) == 0o700
    assert mode(tmp_path / "shared") == 0o755  # an existing folder keeps its permissions


def test_the_store_and_the_workbook_copies_land_in_owner_only_folders(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'data' / 'exmado.db'}")
    db.close()
    source = tmp_path / "employees.xlsx"
    source.write_bytes(b"PK...")
    keep_private_copy(source, tmp_path / "copies" / "job" / "employees.xlsx")
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "copies") == mode(tmp_path / "copies" / "job") == 0o700


def test_blocking_file_is_the_deepest_thing_in_the_way_that_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert blocking_file(tmp_path / "file" / "sub" / "deeper") == tmp_path / "file"
    assert blocking_file(tmp_path / "file") == tmp_path / "file"
    assert blocking_file(tmp_path / "missing" / "sub") is None
    assert blocking_file(tmp_path) is None
    os.mkfifo(tmp_path / "pipe")
    assert blocking_file(tmp_path / "pipe" / "sub") == tmp_path / "pipe"
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert blocking_file(tmp_path / "dangling") == tmp_path / "dangling"


class Killed(BaseException):
    """The worker killed between two steps."""


def test_the_writability_probe_leaves_no_file_a_killed_worker_could_strand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `kill -9` between making the probe and deleting it left `.exmado-probe-…` in a job's
    output folder (a clean-clone CI run): the probe is a file with no name."""

    def killed(path: object) -> None:
        raise Killed

    monkeypatch.setattr(os, "unlink", killed)
    try:
        problem = files.output_folder_problem(tmp_path)
    except Killed:
        problem = "killed while a named probe was in the folder"
    assert (problem, list(tmp_path.iterdir())) == ("", [])
