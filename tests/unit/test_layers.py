"""The folders are the architecture map: what each domain package may import of Éxmado.

Each package's `__init__` (for the file tools, `files.py` itself) says what it owns and what it
stands on; this test holds it to that, reading every import statement of the package's modules
(deferred ones too). The root's
`errors` and `formatting` are words every package may use. A package not listed
here (the commands, the dashboard, the sandbox, `cli`) may import any of these.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.environment import REPO

WORDS = ("exmado_tui.errors", "exmado_tui.formatting")

#: package -> the modules (or packages) of Éxmado it may import, beside its own and WORDS
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "files": (),  # a module, not a folder: the file tools every package may use
    "workbook": ("exmado_tui.files",),
    "config": (
        "exmado_tui.files",
        "exmado_tui.workbook",
        "exmado_tui.notify.targets",
        "exmado_tui.schedule.entries",  # the [[schedule]] entries, read with the settings
        "exmado_tui.job.query_source",
        "exmado_tui.services.localredis",
        "exmado_tui.resources",
    ),
    "store": (
        "exmado_tui.files",
        "exmado_tui.config",
        "exmado_tui.job.status",
        "exmado_tui.notify.targets",  # the notices' words (NoticeKind, DeliveryState)
    ),
    "docuware": (
        "exmado_tui.files",
        "exmado_tui.config",
        "exmado_tui.job.status",
        "exmado_tui.services.localredis",
        "exmado_tui.services.queue",
    ),
    "services": (
        "exmado_tui.files",
        "exmado_tui.config",
        "exmado_tui.store",
        "exmado_tui.job.status",
        "exmado_tui.docuware",
        "exmado_tui.resources",
    ),
    "job": (
        "exmado_tui.files",
        "exmado_tui.config",
        "exmado_tui.workbook",
        "exmado_tui.store",
        "exmado_tui.docuware",
        "exmado_tui.services",
        "exmado_tui.notify",
    ),
    "notify": (
        "exmado_tui.config",
        "exmado_tui.store",
        "exmado_tui.job",
        "exmado_tui.docuware",
        "exmado_tui.output.report",
    ),
    "output": (
        "exmado_tui.files",
        "exmado_tui.config",
        "exmado_tui.workbook",
        "exmado_tui.store",
        "exmado_tui.job",
        "exmado_tui.docuware",
    ),
    "schedule": (
        "exmado_tui.config",
        "exmado_tui.store",
        "exmado_tui.job",
        "exmado_tui.docuware",
    ),
    "dropfolder": (
        "exmado_tui.files",
        "exmado_tui.config",
        "exmado_tui.workbook",
        "exmado_tui.store",
        "exmado_tui.job",
        "exmado_tui.notify",
    ),
}


def imports_of(path: Path) -> set[str]:
    """The Éxmado modules `path` imports, as dotted names (`from a import b` gives `a.b`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith(("exmado_tui.", "workers."))}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def sources(package: str) -> list[Path]:
    """The package's modules, or the one module when it is a file (`files.py`)."""
    folder = REPO / "exmado_tui" / package
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]


def stray_imports(package: str) -> list[str]:
    allowed = (f"exmado_tui.{package}", *WORDS, *MAY_IMPORT[package])
    return sorted(
        f"{path.relative_to(REPO).as_posix()}: {name}"
        for path in sources(package)
        for name in imports_of(path)
        if not within(name, allowed)
    )


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_package_imports_only_what_it_stands_on(package: str):
    assert stray_imports(package) == []


def test_every_domain_package_has_its_rule():
    """A new folder under exmado_tui/ is given its place here (or is a door: commands, ui)."""
    doors = {"commands", "ui", "sandbox", "resources", "__pycache__"}
    folders = {p.name for p in (REPO / "exmado_tui").iterdir() if p.is_dir()} - doors
    assert folders == {name for name in MAY_IMPORT if (REPO / "exmado_tui" / name).is_dir()}
    assert all(path.is_file() for name in MAY_IMPORT for path in sources(name))


def test_the_check_can_fail(monkeypatch: pytest.MonkeyPatch):
    """With the workbook's one allowance taken away, its import of the file tools is caught;
    and a rule for a module (`files`) reads that module."""
    monkeypatch.setitem(MAY_IMPORT, "workbook", ())
    assert any("checks.py: exmado_tui.files" in line for line in stray_imports("workbook"))
    assert sources("files") == [REPO / "exmado_tui" / "files.py"]
