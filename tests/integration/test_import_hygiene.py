"""The layering rules (README, "Where things are"), checked by importing each module in a fresh
interpreter.

A static import graph misses imports deferred into functions; `sys.modules` after a real import
does not. Rules: no domain module (every `exmado_tui` module outside `ui`) pulls in textual or
`exmado_tui.ui`, nor `workers`; no `workers` module pulls in textual or `exmado_tui.ui`.
Inside the dashboard, the screen logic (`ui/logic/`) and the backend (`ui/backend.py`) pull in no
textual either: only the app (with the job actions), its messages, modals, keys, screens and
widgets are Textual code.

The dashboard does not name the store's database library: only `exmado_tui.ui.backend`,
where the store's errors become `StoreUnavailableError`, imports peewee. Every dashboard module
loads peewee through the domain, so that rule is checked on the source's import statements.
"""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

from tests.fresh_python import REPO, run_code


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
UI_WITHOUT_TEXTUAL = [*modules_of("exmado_tui.ui.logic"), "exmado_tui.ui.backend"]


def loaded_after_import(module: str, watched: tuple[str, ...]) -> list[str]:
    """The watched packages present in sys.modules after `import module` in a new interpreter."""
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"print(' '.join(w for w in {watched!r} if any(m == w or m.startswith(w + '.') "
        "for m in sys.modules)))"
    )
    done = run_code(code)
    assert done.returncode == 0, f"importing {module} failed:\n{done.stderr[-2000:]}"
    return done.stdout.split()


def test_the_lists_are_not_empty():
    assert "exmado_tui.job.service" in DOMAIN and "exmado_tui.store.queries" in DOMAIN
    assert not any(m.startswith("exmado_tui.ui") for m in DOMAIN)
    assert "exmado_tui.ui.logic.job_forms" in UI_WITHOUT_TEXTUAL
    assert "exmado_tui.ui.backend" in UI_WITHOUT_TEXTUAL


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_module_imports_no_tui_and_no_workers(module: str):
    assert loaded_after_import(module, ("textual", "exmado_tui.ui", "workers")) == []


@pytest.mark.parametrize("module", WORKERS)
def test_workers_module_imports_no_tui(module: str):
    assert loaded_after_import(module, ("textual", "exmado_tui.ui")) == []


@pytest.mark.parametrize("module", UI_WITHOUT_TEXTUAL)
def test_screen_logic_and_backend_import_no_textual(module: str):
    assert loaded_after_import(module, ("textual",)) == []


def test_the_check_can_fail():
    """The probe itself sees an import of textual when there is one."""
    assert loaded_after_import("exmado_tui.ui.app", ("textual", "exmado_tui.ui")) == [
        "textual",
        "exmado_tui.ui",
    ]


DB_LIBRARIES = ("peewee", "playhouse")
DB_SEAM = "exmado_tui.ui.backend"
UI = modules_of("exmado_tui.ui")


def imported_names(module: str) -> set[str]:
    """The top-level packages `module`'s own source imports, deferred imports included."""
    path = REPO / module.replace(".", "/")
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", [m for m in UI if m != DB_SEAM])
def test_ui_module_does_not_name_the_database_library(module: str):
    assert imported_names(module) & set(DB_LIBRARIES) == set()


def test_the_database_check_can_fail():
    """The scan sees the one import there is, in the seam."""
    assert "exmado_tui.ui.app" in UI and DB_SEAM in UI
    assert "peewee" in imported_names(DB_SEAM)


def test_importing_the_worker_modules_reads_no_configuration(tmp_path: Path):
    """Only `workers.broker.setup()` (what `dramatiq workers.broker:setup` calls) reads the
    settings: a broken configuration file fails it, not an import of the workers."""
    broken = tmp_path / "exmado.toml"
    broken.write_text("[jobs\n", encoding="utf-8")
    code = (
        "import workers.actors, workers.broker, workers.pipeline; print('imported'); "
        "workers.broker.setup()"
    )
    done = run_code(code, EXMADO_CONFIG=str(broken))
    assert done.stdout.split() == ["imported"]
    assert "SettingsError" in done.stderr and str(broken) in done.stderr
