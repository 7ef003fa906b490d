"""The layering rules (README, "Where things are"), checked by importing each module in a fresh
process.

A static import graph misses imports deferred into functions; `sys.modules` after a real import
does not. Each module is imported in a child forked from one interpreter a test process keeps
(`ImportProbe`), which has imported the standard library and the third-party libraries the
modules share, and no package a rule watches: a new interpreter a module cost 0.25 s of CPU,
142 of them 34 s of the suite's, most of it importing those same libraries again.

Rules: no domain module (every `exmado_tui` module outside `ui`) pulls in textual or
`exmado_tui.ui`, nor `workers`; no `workers` module pulls in textual or `exmado_tui.ui`.
Inside the dashboard, the screen logic (`ui/logic/`) and the backend (`ui/backend.py`) pull in no
textual either: only the app (with the job actions), its messages, modals, keys, screens and
widgets are Textual code, and the logic and the backend pull in none of those (what a widget and
the logic both draw, such as folded paths, lives in the logic).

The dashboard does not name the store's database library: only `exmado_tui.ui.backend`,
where the store's errors become `StoreUnavailableError`, imports peewee. Every dashboard module
loads peewee through the domain, so that rule is checked on the source's import statements.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
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


# Imported before any fork: none of them imports a watched package (textual, exmado_tui.ui,
# workers), so a child's sys.modules holds a watched one only if its module brought it.
SHARED = (
    "asyncio email http.client json sqlite3 ssl urllib.request xml.sax.saxutils zipfile zoneinfo "
    "aiohttp defusedxml dramatiq httpx openpyxl peewee prometheus_client redis rich watchfiles"
)
PROBE = f"""
import importlib, json, os, sys
for name in {SHARED!r}.split():
    importlib.import_module(name)
def brought(package):
    return any(m == package or m.startswith(package + ".") for m in sys.modules)
while line := sys.stdin.readline():
    module, watched = json.loads(line)
    if os.fork() == 0:
        try:
            importlib.import_module(module)
            said = {{"loaded": [package for package in watched if brought(package)]}}
        except BaseException as exc:
            said = {{"error": f"{{type(exc).__name__}}: {{exc}}"}}
        print("PROBE " + json.dumps(said), flush=True)
        os._exit(0)
    os.wait()
"""


class ImportProbe:
    """An interpreter that imports one module in a child forked for it (`loaded`)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", PROBE], cwd=REPO, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def loaded(self, module: str, watched: tuple[str, ...]) -> list[str]:
        """The watched packages present in sys.modules after `import module`."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps([module, watched]) + "\n")
        self.process.stdin.flush()
        while not (line := self.process.stdout.readline()).startswith("PROBE "):
            assert line, f"the import probe ended while importing {module}"
        said = json.loads(line.removeprefix("PROBE "))
        assert "error" not in said, f"importing {module} failed: {said.get('error')}"
        return list(said["loaded"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


@pytest.fixture(scope="module")
def probe() -> Iterator[ImportProbe]:
    started = ImportProbe()
    yield started
    started.close()


def test_the_lists_are_not_empty():
    assert "exmado_tui.job.service" in DOMAIN and "exmado_tui.store.queries" in DOMAIN
    assert not any(m.startswith("exmado_tui.ui") for m in DOMAIN)
    assert "exmado_tui.ui.logic.job_forms" in UI_WITHOUT_TEXTUAL
    assert "exmado_tui.ui.backend" in UI_WITHOUT_TEXTUAL


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_module_imports_no_tui_and_no_workers(probe: ImportProbe, module: str):
    assert probe.loaded(module, ("textual", "exmado_tui.ui", "workers")) == []


@pytest.mark.parametrize("module", WORKERS)
def test_workers_module_imports_no_tui(probe: ImportProbe, module: str):
    assert probe.loaded(module, ("textual", "exmado_tui.ui")) == []


UI_TEXTUAL_PARTS = ("app", "messages", "modals", "keys", "screens", "widgets")
#: what the screen logic and the backend do not pull in: textual, nor the dashboard's Textual code
TEXTUAL_CODE = ("textual", *(f"exmado_tui.ui.{part}" for part in UI_TEXTUAL_PARTS))


@pytest.mark.parametrize("module", UI_WITHOUT_TEXTUAL)
def test_screen_logic_and_backend_import_no_textual(probe: ImportProbe, module: str):
    assert probe.loaded(module, TEXTUAL_CODE) == []


def test_the_check_can_fail(probe: ImportProbe):
    """The probe itself sees an import of textual when there is one, and each child starts
    from the probe's own modules, not from what the one before it imported."""
    assert probe.loaded("exmado_tui.ui.app", ("textual", "exmado_tui.ui")) == [
        "textual",
        "exmado_tui.ui",
    ]
    assert probe.loaded("exmado_tui.formatting", ("textual", "exmado_tui.ui")) == []


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
