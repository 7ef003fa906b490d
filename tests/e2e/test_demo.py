"""`exmado demo`: the README's first command exports the demo workbook end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl


def test_the_demo_exports_the_demo_workbook(tmp_path: Path):
    env = {**os.environ, "EXMADO_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "exmado_tui.cli", "demo", "--latency-ms", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The demo workbook: 30 numbers with hits, 2 more, one missing, two repeated rows.
    assert "COMPLETED_WITH_ERRORS: 32 found, 1 not found, 0 ambiguous, 0 failed, 2 skipped" in (
        result.stdout
    )
    [output] = (tmp_path / "demo" / "output").iterdir()
    manifest = json.loads((output / "exmado-manifest.json").read_text())
    files = list(output.rglob("*.pdf"))
    assert len(files) >= 32
    assert len(manifest["files"]) == len(files)
    report = openpyxl.load_workbook(output / "exmado-report.xlsx", read_only=True)
    lines = list(report.active.iter_rows(values_only=True))
    assert len(lines) == 1 + 35  # a header, then one line per non-blank input row
    assert "Traceback" not in result.stderr
