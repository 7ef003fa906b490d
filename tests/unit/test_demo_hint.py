"""The command `exmado demo` ends with runs this same exmado, from the folder it was run in."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from exmado_tui.commands.demo import this_exmado


def script(tmp_path: Path) -> Path:
    path = tmp_path / "project" / ".venv" / "bin" / "exmado"
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n")
    return path


def test_a_venv_script_under_the_current_folder_is_named_by_its_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", [str(script(tmp_path)), "demo"])
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.delenv("EXMADO_DATA_DIR", raising=False)
    assert this_exmado(argparse.Namespace(config=None)) == ".venv/bin/exmado"


def test_elsewhere_the_script_is_absolute_and_carries_the_data_folder_and_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exmado = script(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(exmado), "demo"])
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    monkeypatch.setenv("EXMADO_DATA_DIR", "my data")
    hint = this_exmado(argparse.Namespace(config="host.toml"))
    here = tmp_path / "other"
    assert hint == f"EXMADO_DATA_DIR='{here / 'my data'}' {exmado} --config {here / 'host.toml'}"


def test_run_as_a_module_it_is_this_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/somewhere/exmado_tui/cli.py", "demo"])
    monkeypatch.delenv("EXMADO_DATA_DIR", raising=False)
    assert this_exmado(argparse.Namespace(config=None)) == f"{sys.executable} -m exmado_tui.cli"
