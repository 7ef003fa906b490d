"""Helpers that tests share live in modules named for what they hold (tests/environment.py,
tests/cli_runner.py, tests/tui/pilot_steps.py, tests/reliability/faults.py, ...), never in a
module pytest loads itself — a test module or a conftest — that another imports: a reader
looks for a helper where its name says, a test module stays the tests of its one subject, and
a conftest holds the fixtures and hooks pytest finds there.

Checked on the source's import statements, deferred imports included, of every module under
tests/.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.environment import REPO

TESTS = REPO / "tests"


def loaded_by_pytest(dotted: str) -> bool:
    """A test module (`test_*.py`) or a conftest."""
    name = dotted.rsplit(".", 1)[-1]
    return name.startswith("test_") or name == "conftest"


def imported_pytest_modules(source: str) -> list[str]:
    """The test modules and conftests `source` imports: `import tests.x.test_y`,
    `from tests.x.test_y import z`, `from tests.x import test_y`, and the relative forms."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if loaded_by_pytest(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if loaded_by_pytest(module):
                found.append(module)
            else:
                joint = "." if node.module else ""  # `from . import test_x` is `.test_x`
                found += [
                    f"{module}{joint}{a.name}" for a in node.names if loaded_by_pytest(a.name)
                ]
    return found


def modules_under_tests() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def test_no_module_under_tests_imports_a_test_module_or_a_conftest():
    importing = {
        str(path.relative_to(REPO)): names
        for path in modules_under_tests()
        if (names := imported_pytest_modules(path.read_text(encoding="utf-8")))
    }
    assert importing == {}, "move what they share into a module named for it"


def test_the_check_can_fail():
    source = (
        "from tests.unit.test_cli import run\n"
        "import tests.tui.test_new_job\n"
        "from tests.reliability import test_soak, harness\n"
        "from .test_excel import make_xlsx\n"
        "def later():\n"
        "    from . import test_jobs\n"
        "from tests.unit.conftest import env\n"
        "from tests import conftest\n"
        "from tests.tui.pilot_steps import wait_for\n"
        "from tests.environment import make_settings\n"
        "import test_bare\n"
    )
    assert set(imported_pytest_modules(source)) == {
        "tests.unit.test_cli",
        "tests.tui.test_new_job",
        "tests.reliability.test_soak",
        ".test_excel",
        ".test_jobs",
        "tests.unit.conftest",
        "tests.conftest",
        "test_bare",
    }


def test_the_scan_reads_every_test_folder():
    folders = {path.relative_to(TESTS).parts[0] for path in modules_under_tests()}
    assert {"unit", "integration", "e2e", "tui", "reliability", "benchmarks"} <= folders
