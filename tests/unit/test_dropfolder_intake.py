"""intake.take: a dropped file swapped between the check and the open is still refused,
and what is taken is a private copy read through the descriptor that was checked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from exmado_tui.dropfolder import intake
from exmado_tui.dropfolder.intake import NotARegularFile, take


def swap_after_check(monkeypatch: pytest.MonkeyPatch, swap) -> None:
    """The file passes the `lstat` check, then is replaced before it is opened."""
    check = intake.check_entry

    def check_then_swap(path: Path) -> None:
        check(path)
        swap(path)

    monkeypatch.setattr(intake, "check_entry", check_then_swap)


def test_a_file_swapped_for_a_link_after_the_check_is_refused_unread(tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    dropped = tmp_path / "drop" / "keys.csv"
    dropped.parent.mkdir()
    dropped.write_text("Invoice number\n1\n")

    def to_link(path: Path) -> None:
        path.unlink()
        path.symlink_to(secret)

    swap_after_check(monkeypatch, to_link)
    with pytest.raises(NotARegularFile, match=r"^keys\.csv is a symbolic link"):
        take(dropped, tmp_path / "incoming")
    assert not (tmp_path / "incoming").exists()


def test_a_file_swapped_for_a_pipe_after_the_check_is_refused_by_fstat(tmp_path, monkeypatch):
    dropped = tmp_path / "keys.csv"
    dropped.write_text("Invoice number\n1\n")

    def to_pipe(path: Path) -> None:
        path.unlink()
        os.mkfifo(path)

    swap_after_check(monkeypatch, to_pipe)
    with pytest.raises(NotARegularFile, match=r"is a named pipe \(FIFO\), not a file"):
        take(dropped, tmp_path / "incoming")


def test_what_is_taken_is_an_owner_only_copy_with_the_same_name(tmp_path):
    dropped = tmp_path / "march.xlsx"
    dropped.write_bytes(b"PK\x03\x04 content")
    taken = take(dropped, tmp_path / "incoming")
    assert taken.copy.name == "march.xlsx" and taken.copy.read_bytes() == dropped.read_bytes()
    assert stat.S_IMODE(taken.copy.parent.stat().st_mode) == 0o700
    assert taken.owner and taken.changed.tzinfo is None
