"""A poisoned drop folder, as one real `exmado watch` process meets it: links to secrets, hard
links, a pipe, a name that is not UTF-8, a 255-byte name, the folder deleted under it; and
`exmado jobs create` given such a name or a template that looks inside a value.

Each input must end with one sentence in `rejected/` (or the folder made again) within
`WAIT_S`, the watcher's memory under `MEMORY_BOUND`, and the same process must then turn a
good workbook into a job. A link or hard link to a secret also counts as a security case: held
when no job was made of it and the secret's content appears in no reason, log line or store.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from exmado_tui.dropfolder.watch import REASON_SUFFIX, reason_file
from exmado_tui.sandbox import SandboxServer
from exmado_tui.services.localredis import RedisServer
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job
from tests.environment import REPO
from tests.reliability.harness import Exmado, vm_hwm, wait_for
from tests.reliability.tally import Tally

MB = 1024 * 1024
MEMORY_BOUND = 200 * MB
WAIT_S = 30  # how long the test waits; the time each input took is measured and reported
SECRET = "s3cret-first-line-no-reason-may-quote"
GOOD = itertools.count(1)  # numbers the good workbooks dropped after each poisoned one


@dataclass
class Watch:
    """One installation, its `exmado watch` process and its drop folder."""

    exmado: Exmado
    process: subprocess.Popen
    root: Path
    secret: Path  # an owner-only file outside the drop folder

    @property
    def invoices(self) -> Path:
        return self.root / "invoices"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in self.exmado.tmp_path.glob("watch-*")
        )

    def store_bytes(self) -> bytes:
        data = self.exmado.tmp_path / "data"
        return b"".join(p.read_bytes() for p in data.glob("exmado.db*"))


@pytest.fixture(scope="module")
def watch(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer, sandbox: SandboxServer
) -> Iterator[Watch]:
    exmado = Exmado(tmp_path_factory.mktemp("poisoned"), redis_server.url, sandbox)
    exmado.configure("[dropfolder]\nstable_s = 0.3")
    secret = exmado.tmp_path / "elsewhere" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET}\nrow\n")
    secret.chmod(0o600)
    process = exmado.start_watcher()
    root = Path(exmado.env["EXMADO_DROP_FOLDER"])
    wait_for((root / "invoices").is_dir, WAIT_S, "the watcher to make its profile folders")
    yield Watch(exmado, process, root, secret)
    exmado.stop_workers()


@pytest.fixture(autouse=True)
def its_store(watch: Watch) -> None:
    open_database(watch.exmado.settings.database_url)  # another module's test may have moved it


def _link_to_secret(w: Watch) -> str:
    (w.invoices / "keys.csv").symlink_to(w.secret)
    return "keys.csv"


def _link_to_passwd(w: Watch) -> str:
    (w.invoices / "users.csv").symlink_to("/etc/passwd")
    return "users.csv"


def _link_to_a_private_workbook(w: Watch) -> str:
    private = w.exmado.workbook("private.xlsx", ["PRIVATE-1"])
    private.chmod(0o600)
    (w.invoices / "march.xlsx").symlink_to(private)
    return "march.xlsx"


def _link_to_a_folder(w: Watch) -> str:
    (w.root / "shared").symlink_to(w.secret.parent, target_is_directory=True)
    return "shared"


def _hard_link_to_secret(w: Watch) -> str:
    os.link(w.secret, w.invoices / "hard.csv")
    return "hard.csv"


def _fifo(w: Watch) -> str:
    os.mkfifo(w.invoices / "pipe.xlsx")
    return "pipe.xlsx"


def _not_utf8(w: Watch) -> str:
    name = os.fsdecode(b"caf\xe9-latin1.xlsx")
    w.exmado.workbook("latin1.xlsx", ["LATIN-1"]).rename(w.invoices / name)
    return name


def _long_name(w: Watch) -> str:
    name = "n" * 251 + ".txt"
    (w.invoices / name).write_text("not a workbook")
    return name


@dataclass(frozen=True)
class Poison:
    kind: str
    drop: Callable[[Watch], str]  # returns the name it dropped
    reason: str  # a piece of the one sentence in its reason file
    secret: str = ""  # content that must appear nowhere: a security case


def _passwd_first_line() -> str:
    return Path("/etc/passwd").read_text().splitlines()[0]


POISONS = [
    Poison("link to an owner-only file", _link_to_secret, "is a symbolic link", SECRET),
    Poison("link to /etc/passwd", _link_to_passwd, "is a symbolic link", "passwd"),
    Poison(
        "link to a workbook elsewhere",
        _link_to_a_private_workbook,
        "is a symbolic link",
        "PRIVATE-1",
    ),
    Poison("link to a folder", _link_to_a_folder, "is a symbolic link", SECRET),
    Poison("hard link to an owner-only file", _hard_link_to_secret, "is a hard link", SECRET),
    Poison("named pipe", _fifo, "is a named pipe (FIFO), not a file"),
    Poison("name not in UTF-8", _not_utf8, "Workbook caf\\xe9-latin1.xlsx has a name that is not"),
    Poison("255-byte name", _long_name, "is not an Excel workbook"),
]


@pytest.mark.parametrize("poison", POISONS, ids=[p.kind for p in POISONS])
def test_each_poisoned_drop_is_refused_in_a_sentence_and_the_watcher_goes_on(
    poison: Poison, watch: Watch, tally: Tally
) -> None:
    started, jobs = time.monotonic(), Job.select().count()
    name = poison.drop(watch)
    problems = _refusal_problems(watch, name, poison.reason)
    seconds = time.monotonic() - started
    if Job.select().count() != jobs:
        problems.append("a job was made of it")
    problems += _still_serving(watch, poison.kind)
    peak = vm_hwm(watch.process.pid)
    if peak > MEMORY_BOUND:
        problems.append(f"the watcher reached {peak / MB:.0f} MB")
    tally.hostile(poison.kind, clear=not problems, peak_rss_bytes=peak, seconds=seconds)
    if poison.secret:
        secret = _passwd_first_line() if poison.secret == "passwd" else poison.secret
        leaks = _leaks(watch, secret)
        tally.security(f"drop folder: {poison.kind}", held=not leaks and not problems)
        problems += leaks
    assert not problems, f"{poison.kind}: " + "; ".join(problems)


def test_the_drop_folder_deleted_under_the_watcher_is_made_again(
    watch: Watch, tally: Tally
) -> None:
    started = time.monotonic()
    _delete(watch.root)
    wait_for(watch.invoices.is_dir, WAIT_S, "the watcher to make the drop folder again")
    problems = _still_serving(watch, "after the folder was deleted")
    seconds, peak = time.monotonic() - started, vm_hwm(watch.process.pid)
    if peak > MEMORY_BOUND:
        problems.append(f"the watcher reached {peak / MB:.0f} MB")
    tally.hostile("drop folder deleted", clear=not problems, peak_rss_bytes=peak, seconds=seconds)
    assert not problems, "; ".join(problems)


def _delete(folder: Path) -> None:
    """`rm -rf` as a person would: again when the watcher put a file in it mid-way ("not
    empty"); not once it is gone (the watcher may make it again at once)."""
    for _ in range(20):
        try:
            shutil.rmtree(folder)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)
    shutil.rmtree(folder)


def _refusal_problems(w: Watch, name: str, piece: str) -> list[str]:
    """What is wrong with how the dropped `name` was refused (empty when it was as it should)."""
    moved = w.rejected / name
    try:
        wait_for(lambda: os.path.lexists(reason_file(moved)), WAIT_S, f"{name!r} to be refused")
    except AssertionError as exc:
        return [str(exc), *_crashed(w)]
    reason = reason_file(moved).read_text()
    problems = [] if piece in reason else [f"the reason does not say {piece!r}: {reason!r}"]
    if reason.count("\n") != 1 or not reason.rstrip().endswith("."):
        problems.append(f"not one sentence: {reason!r}")
    if not os.path.lexists(moved):
        problems.append("the refused file is not beside its reason")
    return problems


def _still_serving(w: Watch, after: str) -> list[str]:
    """The same watcher turns a good workbook into a job."""
    name = f"good-{next(GOOD)}.xlsx"
    w.exmado.workbook(name, [f"{name}-1"]).rename(w.invoices / name)
    try:
        wait_for(lambda: Job.get_or_none(Job.workbook_name == name), WAIT_S, f"a job of {name}")
    except AssertionError:
        return [f"no job was made of a good workbook dropped {after}", *_crashed(w)]
    return _crashed(w)


def _crashed(w: Watch) -> list[str]:
    problems = [] if w.process.poll() is None else [f"the watcher exited ({w.process.returncode})"]
    if "Traceback" in w.log():
        problems.append("the watcher logged a traceback")
    return problems


def _leaks(w: Watch, secret: str) -> list[str]:
    """Where the secret's content shows up: reasons, the watcher's log, the store."""
    reasons = "".join(p.read_text() for p in w.rejected.glob(f"*{REASON_SUFFIX}"))
    places = {"a reason": reasons, "the watcher's log": w.log()}
    found = [where for where, text in places.items() if secret in text]
    if secret.encode() in w.store_bytes():
        found.append("the store")
    return [f"the secret's content is in {where}" for where in found]


# -- the same names and templates given to `exmado jobs create` -----------------------------

BAD_TEMPLATES = ("{NUMERO_FACTURA.__class__}", "{X[0]}")


def test_a_name_not_in_utf8_given_to_jobs_create_is_one_sentence(
    watch: Watch, tally: Tally
) -> None:
    named = watch.exmado.tmp_path / os.fsdecode(b"caf\xe9-cli.xlsx")
    watch.exmado.workbook("cli.xlsx", ["CLI-1"]).rename(named)
    code, err, seconds, peak = _create(watch, str(named), "--profile", "invoices")
    expected = "Workbook caf\\xe9-cli.xlsx has a name that is not valid UTF-8"
    _tally_refusal(tally, "jobs create: name not in UTF-8", code, err, expected, seconds, peak)


@pytest.mark.parametrize("template", BAD_TEMPLATES)
def test_a_template_that_looks_inside_a_value_is_refused_at_create(
    template: str, watch: Watch, tally: Tally
) -> None:
    profiles = Path(watch.exmado.env["EXMADO_USER_PROFILES_DIR"])
    profiles.mkdir(exist_ok=True)
    (profiles / "looking.toml").write_text(
        'cabinet = "Invoices"\n[columns]\n"Invoice number" = "INVOICE_NO"\n'
        f"[templates]\nfilename = {template!r}\n"
    )
    try:
        workbook = watch.exmado.workbook(f"t-{next(GOOD)}.xlsx", ["T-1"])
        code, err, seconds, peak = _create(watch, str(workbook), "--profile", "looking")
    finally:
        (profiles / "looking.toml").unlink()
    expected = "is not part of a field or column name"
    _tally_refusal(tally, f"jobs create: template {template}", code, err, expected, seconds, peak)


# The peak is read in the child from /proc/self/status at exit: wait4's ru_maxrss is no good
# here, because Linux folds the forking parent's peak (this test worker's) into a child's at exec.
_WITH_PEAK = """
import atexit, pathlib, runpy, sys
PEAK = pathlib.Path(sys.argv[1])
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            PEAK.write_text(line.split()[1])
atexit.register(_peak)
sys.argv = ["exmado", "jobs", "create", *sys.argv[2:]]
runpy.run_module("exmado_tui.cli", run_name="__main__")
"""


def _create(watch: Watch, *args: str) -> tuple[int, str, float, int]:
    """`exmado jobs create ARGS`: exit code, stderr, seconds and the child's own peak resident
    memory."""
    peak_path = watch.exmado.tmp_path / "create.peak"
    peak_path.unlink(missing_ok=True)
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-c", _WITH_PEAK, str(peak_path), *args],
        cwd=REPO,
        env={**os.environ, **watch.exmado.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    seconds = time.monotonic() - started
    return process.returncode, process.stderr, seconds, int(peak_path.read_text()) * 1024


def _tally_refusal(
    tally: Tally, kind: str, code: int, err: str, piece: str, seconds: float, peak: int
) -> None:
    problems = [] if code == 1 else [f"exit {code}"]
    if piece not in err or err.count("\n") != 1 or "Traceback" in err:
        problems.append(f"not the one sentence saying {piece!r}: {err!r}")
    if peak > MEMORY_BOUND:
        problems.append(f"it reached {peak / MB:.0f} MB")
    tally.hostile(kind, clear=not problems, peak_rss_bytes=peak, seconds=seconds)
    assert not problems, f"{kind}: " + "; ".join(problems)
