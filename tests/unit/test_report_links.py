"""A row's link reads its file's path as a POSIX path does, without making one."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from exmado_tui.output import report_sheets
from exmado_tui.output.report_sheets import link_formula

PATHS = ["A/1.pdf", "1.pdf", "", ".", "./A/1.pdf", "A/./1.pdf", "A//1.pdf", "A/1.pdf/", "A/."]
PATHS += ["/A/1.pdf", "//A/1.pdf", "A/../1.pdf", "..", "A/ /1.pdf", "A\\1.pdf", "...", "A/..."]


@pytest.mark.parametrize("path", PATHS)
def test_a_link_is_the_one_a_posix_path_gives(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = [link_formula(path, count) for count in (1, 3)]
    monkeypatch.setattr(report_sheets, "_parts", lambda text: PurePosixPath(text).parts)
    assert [link_formula(path, count) for count in (1, 3)] == ours
