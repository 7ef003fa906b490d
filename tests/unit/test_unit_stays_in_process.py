"""No unit test starts a server or a process: a test that needs a real Redis, PostgreSQL, the
sandbox, a tmpfs mount or another program lives in tests/integration/ (or e2e/, tui/, ...), so
tests/unit/ stays fast and runs anywhere.

Checked statically, on the source of every module of tests/unit/ (its conftest too). A module
fails when it
- imports `subprocess`, `multiprocessing` or `pty`, or calls `os.fork`, `os.system`,
  `os.popen`, `os.spawn*`, `os.exec*` or `asyncio.create_subprocess_*`;
- names a server class: the product's `RedisServer` and `SandboxServer`, the standard
  library's HTTP and TCP servers;
- imports a shared test helper (a module of tests/) whose code does one of these, directly or
  through another of its helpers: the helpers are read the same way, so a new one that spawns
  is caught without being listed here;
- asks for a fixture of tests/conftest.py whose code does one of these or that asks for such a
  fixture (`any_store` asks for `redis_url`, which asks for `redis_server`), as a parameter,
  through `request.getfixturevalue("...")` or `pytest.mark.usefixtures("...")`, unless the
  module defines a fixture of that name itself (an in-process `sandbox`, say).

What it cannot see: product code a unit test calls that starts a process of its own accord.
The product's only such code is `exmado_tui/services/` and `commands/demo.py`, which no unit
test drives to that point today (checked by watching `subprocess.Popen` and `socket.listen`
through a whole run of tests/unit/ when this test was written).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.environment import REPO

TESTS = REPO / "tests"
SPAWNING_MODULES = {"subprocess", "multiprocessing", "pty"}
OS_SPAWNING = ("fork", "forkpty", "system", "popen", "spawn", "exec", "posix_spawn")
SERVERS = {
    "RedisServer",  # exmado_tui.services.localredis: a redis-server process
    "SandboxServer",  # exmado_tui.sandbox: DocuWare's stand-in over HTTP, on a thread
    "HTTPServer",
    "ThreadingHTTPServer",
    "TCPServer",
    "ThreadingTCPServer",
}
ASKING = {"getfixturevalue", "usefixtures"}


def spawning_call(node: ast.AST) -> str | None:
    """What `node` starts, if it is `os.fork`-like, `asyncio.create_subprocess_*` or a
    server class named as an attribute."""
    if not isinstance(node, ast.Attribute):
        return None
    owner = node.value.id if isinstance(node.value, ast.Name) else ""
    if owner == "os" and node.attr.startswith(OS_SPAWNING):
        return f"os.{node.attr}"
    if node.attr.startswith("create_subprocess") or node.attr in SERVERS:
        return node.attr
    return None


def spawning_calls(tree: ast.AST) -> set[str]:
    return {what for node in ast.walk(tree) if (what := spawning_call(node))}


class Module:
    """One module's source, with the names it binds at its top level."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.top = {
            node.name: node
            for node in self.tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        #: each top-level name → what it calls that spawns, and the names it uses
        self.uses = {name: (spawning_calls(n), names_in(n)) for name, n in self.top.items()}

    def imported(self) -> Iterator[tuple[str, str]]:
        """(module, name) for each imported name, deferred imports too; `import x` gives
        (x, x)."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, alias.asname or alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    yield node.module, alias.name

    def fixtures(self) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
        return {
            name: node
            for name, node in self.top.items()
            if not isinstance(node, ast.ClassDef)
            and any(is_fixture(d) for d in node.decorator_list)
        }


def is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr == "fixture"


def names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def asked_fixtures(node: ast.AST) -> set[str]:
    """The fixtures `node` asks for: its functions' parameters, and the names given to
    `request.getfixturevalue` and `pytest.mark.usefixtures`."""
    asked: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
            asked |= {a.arg for a in n.args.args + n.args.kwonlyargs}
        elif (
            isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ASKING
        ):
            asked |= {
                a.value for a in n.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
            }
    return asked


def imported_starters(module: Module, helpers: dict[str, set[str]]) -> set[str]:
    """The names `module` imports that start something: spawning modules and what they hold,
    server classes, a helper module's starting names."""
    found: set[str] = set()
    for source, name in module.imported():
        root = source.split(".")[0]
        if root in SPAWNING_MODULES or name in SERVERS or name in helpers.get(source, set()):
            found.add(name)
    return found


def starting_names(module: Module, outside: set[str]) -> set[str]:
    """The names of `module` that start something: those it imports (`outside`), and its
    top-level functions and classes that start something themselves or through those."""
    starters = set(outside) | {name for name, (calls, _) in module.uses.items() if calls}
    changed = True
    while changed:
        grown = {name for name, (_, names) in module.uses.items() if names & starters}
        changed = not grown <= starters
        starters |= grown
    return starters


def helper_starters() -> dict[str, set[str]]:
    """Each shared helper module of tests/ (dotted name) → the names in it that start a server
    or a process, followed across helpers until nothing more is found."""
    helpers = {
        ".".join(path.relative_to(REPO).with_suffix("").parts): Module(path)
        for path in TESTS.rglob("*.py")
        if not path.name.startswith("test_") and path.name != "conftest.py"
    }
    found: dict[str, set[str]] = {}
    changed = True
    while changed:
        changed = False
        for dotted, module in helpers.items():
            names = starting_names(module, imported_starters(module, found))
            if names != found.get(dotted, set()):
                found[dotted], changed = names, True
    return found


def starting_fixtures(conftest: Module, helpers: dict[str, set[str]]) -> set[str]:
    """The fixtures of `conftest` that start something, or ask for a fixture that does."""
    starters = starting_names(conftest, imported_starters(conftest, helpers))
    fixtures = conftest.fixtures()
    found = {name for name in fixtures if name in starters}
    changed = True
    while changed:
        grown = {name for name, node in fixtures.items() if {a.arg for a in node.args.args} & found}
        changed = not grown <= found
        found |= grown
    return found


def what_starts(module: Module, helpers: dict[str, set[str]], fixtures: set[str]) -> list[str]:
    """Why `module` starts a server or a process, one reason a line; none if it does not."""
    starters = imported_starters(module, helpers)
    reasons = [
        f"imports {name}" if name == source else f"imports {name} from {source}"
        for source, name in module.imported()
        if name in starters
    ]
    reasons += [f"calls {what}" for what in spawning_calls(module.tree)]
    own = set(module.fixtures())
    reasons += sorted(
        f"asks for the fixture {name}" for name in (asked_fixtures(module.tree) & fixtures) - own
    )
    return sorted(set(reasons))


@functools.cache
def known_starters() -> tuple[dict[str, set[str]], set[str]]:
    """The shared helpers' starting names and tests/conftest.py's starting fixtures (read once
    for the three tests here)."""
    helpers = helper_starters()
    return helpers, starting_fixtures(Module(TESTS / "conftest.py"), helpers)


def unit_modules() -> Iterable[Path]:
    return sorted((TESTS / "unit").glob("*.py"))


def test_no_unit_test_starts_a_server_or_a_process():
    helpers, fixtures = known_starters()
    starts = {
        str(path.relative_to(REPO)): reasons
        for path in unit_modules()
        if (reasons := what_starts(Module(path), helpers, fixtures))
    }
    assert starts == {}, "move these into tests/integration/ (git mv)"


def test_the_shared_servers_are_known():
    """The fixtures and helpers this check follows do start what they say (else it proves
    nothing)."""
    helpers, fixtures = known_starters()
    assert {"redis_server", "redis_url", "pg_url", "postgres_server", "any_store"} <= fixtures
    assert {"store", "settings", "clean_environment"}.isdisjoint(fixtures)
    assert "run_code" in helpers["tests.fresh_python"]
    assert "small_disk" in helpers["tests.small_disk"]
    assert "Receiver" in helpers["tests.webhook_receiver"]
    assert "SECRET" not in helpers["tests.webhook_receiver"]


def test_the_check_can_fail(tmp_path):
    helpers, fixtures = known_starters()
    cases = {
        "def test_x(redis_url):\n    pass\n": ["asks for the fixture redis_url"],
        "def test_x(request):\n    request.getfixturevalue('pg_url')\n": [
            "asks for the fixture pg_url"
        ],
        "import subprocess\n": ["imports subprocess"],
        "from tests.fresh_python import run_code\n": ["imports run_code from tests.fresh_python"],
        "import os\n\ndef test_x():\n    os.fork()\n": ["calls os.fork"],
        "import pytest\n\n@pytest.fixture\ndef sandbox():\n    return 1\n\n"
        "def test_x(sandbox):\n    pass\n": [],
    }
    for source, reasons in cases.items():
        path = tmp_path / "test_case.py"
        path.write_text(source)
        assert what_starts(Module(path), helpers, fixtures) == reasons, source
