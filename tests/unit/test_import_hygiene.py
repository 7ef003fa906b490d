"""The layering rules of DESIGN.md §2, checked by importing each module in a fresh interpreter.

A static import graph misses imports deferred into functions; `sys.modules` after a real import
does not. Rules: no domain module (every `exmado_tui` module outside `ui`) pulls in textual or
`exmado_tui.ui`, nor `workers`; no `workers` module pulls in textual or `exmado_tui.ui`.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def modules_of(package: str, skip: tuple[str, ...] = ()) -> list[str]:
    folder = REPO / package.replace(".", "/")
    if not folder.is_dir():
        return []
    names = [package]
    for info in pkgutil.walk_packages([str(folder)], prefix=package + "."):
        if not info.name.startswith(skip) and ".__main__" not in info.name:
            names.append(info.name)
    return sorted(names)


DOMAIN = modules_of("exmado_tui", skip=("exmado_tui.ui",))
WORKERS = modules_of("workers")


def loaded_after_import(module: str, watched: tuple[str, ...]) -> list[str]:
    """The watched packages present in sys.modules after `import module` in a new interpreter."""
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"print(' '.join(w for w in {watched!r} if any(m == w or m.startswith(w + '.') "
        "for m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"importing {module} failed:\n{done.stderr[-2000:]}"
    return done.stdout.split()


def test_the_lists_are_not_empty():
    assert "exmado_tui.jobs" in DOMAIN and "exmado_tui.queries" in DOMAIN
    assert not any(m.startswith("exmado_tui.ui") for m in DOMAIN)


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_module_imports_no_tui_and_no_workers(module: str):
    assert loaded_after_import(module, ("textual", "exmado_tui.ui", "workers")) == []


@pytest.mark.parametrize("module", WORKERS)
def test_workers_module_imports_no_tui(module: str):
    assert loaded_after_import(module, ("textual", "exmado_tui.ui")) == []


def test_the_check_can_fail():
    """The probe itself sees an import of textual when there is one."""
    assert loaded_after_import("exmado_tui.ui.app", ("textual", "exmado_tui.ui")) == [
        "textual",
        "exmado_tui.ui",
    ]
