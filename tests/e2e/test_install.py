"""A plain `pip install .` (a wheel, not a checkout) runs `exmado demo` from any folder.

The wheel goes into a fresh virtual environment that borrows only the dependencies of this one
(a .pth file naming its site-packages); the demo then runs from an empty folder, so neither the
checkout nor its config/ can be found by accident.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.environment import REPO

pytestmark = pytest.mark.slow


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def python_says(python: Path, code: str) -> str:
    """What `code` prints when `python` runs it outside the checkout."""
    return run([str(python), "-c", code], cwd=python.parent).stdout.strip()


def installed_venv(tmp_path: Path) -> Path:
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    run([*pip, "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)], cwd=tmp_path)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = python_says(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    [wheel] = wheels.glob("exmado-*.whl")
    run(
        [*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        cwd=tmp_path,
    )
    return venv


def test_a_wheel_runs_the_demo_from_any_folder(tmp_path: Path):
    venv = installed_venv(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = python_says(venv / "bin" / "python", "import exmado_tui; print(exmado_tui.__file__)")
    assert Path(where).is_relative_to(venv), where
    demo = run(
        [str(venv / "bin" / "exmado"), "demo", "--latency-ms", "0"],
        cwd=elsewhere,
        EXMADO_DATA_DIR=str(tmp_path / "data"),
        HOME=str(elsewhere),
    )
    assert "COMPLETED_WITH_ERRORS: 32 found, 1 not found, 0 ambiguous, 0 failed, 2 skipped" in (
        demo.stdout
    )
    assert "Traceback" not in demo.stderr
