"""The data folder and what Éxmado keeps in it are readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from exmado_tui.files.folders import blocking_file, private_folder
from exmado_tui.store.db import open_database
from exmado_tui.workbook.checks import keep_private_copy


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
