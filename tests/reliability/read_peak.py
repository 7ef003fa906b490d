"""A child process that checks workbooks as `jobs create`, the dashboard and the drop folder do,
printing for each its refusal (if any), its own peak resident memory and CPU seconds.

    python -m tests.reliability.read_peak < [[name, path], ...]   →   one JSON line per input
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from exmado_tui.config.loading import load_settings
from exmado_tui.errors import WorkbookError
from exmado_tui.workbook.checks import check_workbook
from tests.reliability.harness import vm_hwm
from tests.reliability.hostile import HEADER


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def check(path: Path, limits: object) -> str:
    try:
        check_workbook(path, {"columns": [HEADER]}, limits)  # type: ignore[arg-type]
    except WorkbookError as exc:
        return str(exc)
    return ""


def main() -> None:
    limits = load_settings().workbooks
    for name, path in json.load(sys.stdin):
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := the current RSS
        started = cpu_seconds()
        refusal = check(Path(path), limits)
        peak, cpu = vm_hwm("self"), cpu_seconds() - started
        print(json.dumps({"name": name, "refusal": refusal, "peak": peak, "cpu": cpu}))


if __name__ == "__main__":
    main()
