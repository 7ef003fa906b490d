"""The real-process harness the e2e and reliability suites share.

Nothing is stubbed: the test process and the workers share the SQLite store and the private
Redis; workers are started as `python -m exmado_tui.cli worker` in their own session so a test
can kill -9 the whole process group. Small heartbeat, stale and timeout values come from a
host configuration file passed with EXMADO_CONFIG, as an operator would. A conftest takes the
fixtures in by importing them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis

from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import Settings
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from exmado_tui.job.status import FINAL
from exmado_tui.sandbox import SandboxConfig, SandboxServer
from exmado_tui.store.db import database, open_database
from exmado_tui.store.queries import get_job
from tests.environment import REPO, settings_env
from tests.workbooks import write_workbook

WORKER_KEYS = "exmado:worker:*"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(SandboxConfig(port=0, documents=3000, seed=7))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def docuware(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The shared sandbox with its counters emptied and its faults back to none."""
    sandbox.stats.reset()
    sandbox.faults.reset()
    yield sandbox
    sandbox.start()  # a test that took it down brings it back
    sandbox.faults.reset()


class Exmado:
    """One test's installation: environment, settings, store, job service and workers."""

    def __init__(self, tmp_path: Path, redis_url: str, sandbox: SandboxServer) -> None:
        self.tmp_path = tmp_path
        self.redis = redis.Redis.from_url(redis_url)
        self.sandbox = sandbox
        self.workers: list[subprocess.Popen] = []
        self.watchers: list[subprocess.Popen] = []
        self.peak_rss = 0  # bytes: the highest VmHWM of any worker process seen at its end
        self.env = {
            **settings_env(tmp_path),
            "EXMADO_DB_URL": f"sqlite:///{tmp_path / 'data' / 'exmado.db'}",
            "REDIS_URL": redis_url,
            "DOCUWARE_URL": sandbox.url,
            "DOCUWARE_PASSWORD": "demo",
            "EXMADO_CONFIG": str(tmp_path / "host.toml"),
        }
        self.configure()

    def configure(self, extra: str = "", **jobs: Any) -> Settings:
        """Write the host file: [jobs] `jobs` over quick defaults, then `extra` lines after the
        [docuware] table's own (more of its keys, or further tables)."""
        table = {"heartbeat_s": 0.3, "stale_after_s": 3, "row_concurrency": 8, **jobs}
        lines = ["[jobs]", *(f"{k} = {json.dumps(v)}" for k, v in table.items())]
        lines += ["[broker]", "heartbeat_timeout_s = 3", "[docuware]", "timeout_s = 15"]
        lines.append(extra)
        Path(self.env["EXMADO_CONFIG"]).write_text("\n".join(lines) + "\n")
        self.settings = load_settings(environ=self.env)
        open_database(self.settings.database_url)
        self.service = JobService(self.settings)
        return self.settings

    # -- workers ------------------------------------------------------------------------

    def use_store(self, url: str, **jobs: Any) -> Settings:
        """Keep the jobs in the store at `url` (PostgreSQL) from now on, with `jobs` settings."""
        self.env["EXMADO_DB_URL"] = url
        return self.configure(**jobs)

    def start_worker(self, threads: int = 2, processes: int = 1, **env: str) -> subprocess.Popen:
        """A worker (`processes` Dramatiq processes); `env` overrides this installation's
        variables (another host's data folder or host name)."""
        log = open(self.tmp_path / f"worker-{len(self.workers)}.log", "w")  # noqa: SIM115
        sizes = ["--threads", str(threads), "--processes", str(processes)]
        process = subprocess.Popen(
            [sys.executable, "-m", "exmado_tui.cli", "worker", *sizes],
            cwd=REPO,
            env={**os.environ, **self.env, **env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(process)
        wait_for(lambda: self.announced(process) >= processes, 30, "the worker to announce itself")
        return process

    def announced(self, process: subprocess.Popen) -> int:
        """How many of `process`'s own Dramatiq processes are in the registry (keys end in
        their pid; keys a killed worker left behind do not count)."""
        try:
            family = {c.pid for c in psutil.Process(process.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return 0
        tails = (key.rsplit(b":", 1)[-1] for key in self.redis.scan_iter(match=WORKER_KEYS))
        # digits only: a TUI test's made-up worker ("w1") may share this Redis
        return sum(int(tail) in family for tail in tails if tail.isdigit())

    def start_watcher(self) -> subprocess.Popen:
        """`exmado watch`: the drop folder, in its own session like a worker."""
        log = open(self.tmp_path / f"watch-{len(self.watchers)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "exmado_tui.cli", "watch"],
            cwd=REPO,
            env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.watchers.append(process)
        return process

    def alive_workers(self) -> int:
        return len(list(self.redis.scan_iter(match=WORKER_KEYS)))

    def kill(self, process: subprocess.Popen) -> None:
        """kill -9 the worker and every process it forked."""
        self._note_peak_rss(process)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_workers(self) -> None:
        for process in self.watchers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        for process in self.workers:
            if process.poll() is None:
                self._note_peak_rss(process)
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)

    def _note_peak_rss(self, process: subprocess.Popen) -> None:
        """The kernel's high-water mark of resident memory of the worker and its children."""
        try:
            family = [psutil.Process(process.pid)]
            family += family[0].children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for member in family:
            self.peak_rss = max(self.peak_rss, vm_hwm(member.pid))

    def worker_logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp_path.glob("worker-*.log")))

    # -- jobs -----------------------------------------------------------------------------

    def workbook(self, name: str, keys: list[Any], header: str = "Invoice number") -> Path:
        rows = (key if isinstance(key, list) else [key, "row"] for key in keys)
        return write_workbook(self.tmp_path / name, rows, header=(header, "Comment"))

    def start_job(self, path: Path, **config: Any) -> str:
        return self.service.create(
            JobRequest(path, profile="invoices", config=config or None, start=True)
        ).id

    def wait(self, job_id: str, timeout: float = 60, statuses: Any = FINAL) -> Any:
        return wait_for(lambda: _in(get_job(job_id), statuses), timeout, f"job {job_id[:8]}")

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "exmado_tui.cli", *args],
            cwd=REPO,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
            input=input,
        )


def vm_hwm(pid: int | str) -> int:
    """The peak resident memory of process `pid` (or "self"), in bytes; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _in(job: Any, statuses: Any) -> Any:
    return job if job.status in statuses else None


def wait_for(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        database.connect(reuse_if_open=True)
        value = check()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"Timed out after {timeout:g} s waiting for {what}.")


@pytest.fixture
def exmado(tmp_path: Path, redis_url: str, docuware: SandboxServer) -> Iterator[Exmado]:
    installation = Exmado(tmp_path, redis_url, docuware)
    yield installation
    installation.stop_workers()
    database.close()
