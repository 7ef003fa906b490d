"""`exmado --help` answers without importing what only a command's work needs."""

from __future__ import annotations

from pathlib import Path

from tests.fresh_python import run_code

#: the libraries, and the sandbox's server and seeded data (exmado_tui/sandbox/__init__.py)
HEAVY = (
    "textual",
    "dramatiq",
    "openpyxl",
    "httpx",
    "peewee",
    "redis",
    "exmado_tui.sandbox.server",
    "exmado_tui.sandbox.data",
)


def loaded_by(*argv: str, **env: str) -> set[str]:
    """The HEAVY packages in sys.modules after `exmado ARGV` ran in a fresh interpreter."""
    code = (
        "import sys\nfrom exmado_tui.cli import main\n"
        f"try:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass\n"
        f"print(' '.join(h for h in {HEAVY!r} if h in sys.modules))"
    )
    done = run_code(code, **env)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stdout.splitlines()[-1].split())


def test_help_loads_none_of_the_heavy_libraries():
    assert loaded_by("--help") == set()


def test_a_group_s_help_loads_none_either():
    assert loaded_by("jobs", "--help") == set()
    assert loaded_by("docuware", "download", "--help") == set()
    assert loaded_by("sandbox", "--help") == set()


def test_the_probe_sees_a_command_that_needs_them(tmp_path: Path):
    """`jobs list` opens the store, so peewee is there once it has run."""
    env = {"EXMADO_DATA_DIR": str(tmp_path), "EXMADO_CONFIG": str(tmp_path / "none.toml")}
    assert "peewee" in loaded_by("jobs", "list", **env)
