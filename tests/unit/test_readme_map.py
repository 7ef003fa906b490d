"""README's map ("Where things are") names files that exist, and every module a newcomer needs.

A module moved or added without the map following fails here. The dashboard's, the commands'
and the sandbox's modules are named by their folder, which the map says what holds.
"""

from __future__ import annotations

import re

from tests.environment import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
PY_NAME = re.compile(r"(?<![\w./-])((?:\w+/)*\w+\.py)\b")


def the_map() -> str:
    """The code block under "## Where things are"."""
    return README.split("## Where things are", 1)[1].split("```", 2)[1]


def checkout_files() -> list[str]:
    """Every .py file of the checkout, as a path from its top."""
    return [
        path.relative_to(REPO).as_posix()
        for folder in ("exmado_tui", "workers", "tests")
        for path in (REPO / folder).rglob("*.py")
    ]


def exists(name: str, files: list[str]) -> bool:
    """`name` (`runner.py`, `pipeline/runner.py`) is the end of a file's path."""
    return any(file == name or file.endswith("/" + name) for file in files)


def test_every_python_file_the_readme_names_exists() -> None:
    files = checkout_files()
    named = set(PY_NAME.findall(README))
    assert "exmado_tui/job/transitions.py" in named and exists(
        "exmado_tui/job/transitions.py", files
    )
    assert sorted(name for name in named if not exists(name, files)) == []


def test_the_map_names_every_domain_docuware_and_worker_module() -> None:
    words = set(re.findall(r"\w+", the_map()))
    domain = ("config", "job", "store", "workbook", "output", "dropfolder", "services")
    modules = [
        *(REPO / "exmado_tui").glob("*.py"),
        *(path for name in domain for path in (REPO / "exmado_tui" / name).glob("*.py")),
        *(REPO / "exmado_tui" / "docuware").glob("*.py"),
        *(REPO / "workers").rglob("*.py"),
    ]
    unnamed = [path for path in modules if path.stem not in {"__init__", *words}]
    assert sorted(path.relative_to(REPO).as_posix() for path in unnamed) == []


def test_the_map_names_every_package_by_its_folder() -> None:
    packages = [
        init.parent
        for top in ("exmado_tui", "workers")
        for init in (REPO / top).rglob("__init__.py")
        if init.parent != REPO / top
    ]
    unnamed = [folder for folder in packages if f"{folder.name}/" not in the_map()]
    assert sorted(folder.relative_to(REPO).as_posix() for folder in unnamed) == []
