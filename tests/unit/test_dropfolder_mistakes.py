"""A drop folder set up wrong, or a dropped file taken back: one sentence, the watcher lives."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from exmado_tui.cli import main
from exmado_tui.dropfolder.watch import DropFolder, DropFolderError
from exmado_tui.job.service import JobService


def drop_folder(store, path: Path) -> DropFolder:
    return DropFolder(replace(store.dropfolder, path=path), JobService(store))


def test_a_drop_folder_that_is_a_file_is_one_sentence(store, tmp_path: Path):
    (tmp_path / "drop").write_text("not a folder")
    with pytest.raises(DropFolderError) as caught:
        drop_folder(store, tmp_path / "drop").prepare()
    assert str(caught.value) == (
        f"The drop folder {tmp_path / 'drop'} cannot be created: {tmp_path / 'drop'} is a file,"
        " not a folder; set [dropfolder] path or EXMADO_DROP_FOLDER to a folder."
    )


def test_a_sub_folder_name_taken_by_a_file_is_one_sentence(store, tmp_path: Path):
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "archive").write_text("x")
    with pytest.raises(DropFolderError, match=r"drop/archive is a file, not a folder"):
        drop_folder(store, tmp_path / "drop").prepare()


def test_a_drop_folder_below_a_file_names_that_file(store, tmp_path: Path):
    os.mkfifo(tmp_path / "pipe")  # not a regular file, still not a folder
    with pytest.raises(DropFolderError) as caught:
        drop_folder(store, tmp_path / "pipe" / "drop").prepare()
    assert str(caught.value) == (
        f"The drop folder {tmp_path / 'pipe' / 'drop'} cannot be created: {tmp_path / 'pipe'}"
        " is a file, not a folder; set [dropfolder] path or EXMADO_DROP_FOLDER to a folder."
    )


def test_exmado_watch_on_a_file_exits_1_with_the_sentence(store, tmp_path, monkeypatch, capsys):
    (tmp_path / "drop").write_text("x")
    monkeypatch.setenv("EXMADO_DATA_DIR", str(store.data_dir))
    monkeypatch.setenv("EXMADO_DROP_FOLDER", str(tmp_path / "drop"))
    assert main(["watch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("exmado: The drop folder ") and err.count("\n") == 1


def test_a_file_taken_back_before_it_is_ingested_is_forgotten(store, tmp_path: Path):
    folder = drop_folder(store, tmp_path / "drop")
    folder.prepare()
    gone = folder.root / "invoices" / "gone.xlsx"
    outcome = folder.ingest(gone)  # settled, then moved away by its owner
    assert outcome.reason.endswith("does not exist.")
    assert list(folder.rejected.iterdir()) == []
