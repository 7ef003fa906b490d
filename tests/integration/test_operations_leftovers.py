"""`exmado up | down | redis` facing stale pid files, leftovers and relative config paths."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from exmado_tui.services.localredis import free_port
from tests.integration.site import exmado, run_folder, site_env, stop_site


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen]:
    """An unrelated live process (its pid stands for one a reboot handed to someone else)."""
    process = subprocess.Popen(["sleep", "30"])
    yield process
    process.kill()
    process.wait()


def leftover(site: Path) -> subprocess.Popen:
    """A process that looks like a program of the site's killed supervisord."""
    marker = f"unix://{run_folder(site)}/supervisor.sock"
    return subprocess.Popen(["sleep", "30"], env={**os.environ, "SUPERVISOR_SERVER_URL": marker})


def stale_pid_file(site: Path, pid: int) -> None:
    run_folder(site).mkdir(parents=True, exist_ok=True)
    (run_folder(site) / "supervisord.pid").write_text(f"{pid}\n")


def test_down_ignores_a_stale_pid_file_naming_an_unrelated_process(site: Path, sleeper):
    env = site_env(site, free_port())
    stale_pid_file(site, sleeper.pid)
    started = time.monotonic()
    down = exmado(site, env, "down", timeout=15)
    assert time.monotonic() - started < 10
    assert down.returncode == 0, down.stderr
    assert "Nothing runs: supervisord is not running." in down.stdout
    assert sleeper.poll() is None


@pytest.mark.slow  # supervisord and its programs, for real
def test_up_ignores_a_stale_pid_file_naming_an_unrelated_process(site: Path, sleeper):
    env = site_env(site, free_port())
    stale_pid_file(site, sleeper.pid)
    try:
        up = exmado(site, env, "up", timeout=40)
        assert up.returncode == 0, up.stderr
        assert "RUNNING" in up.stdout
        assert sleeper.poll() is None
    finally:
        stop_site(site, env)


def test_down_counts_the_leftovers_it_stopped(site: Path):
    env = site_env(site, free_port())
    orphan = leftover(site)
    try:
        down = exmado(site, env, "down", timeout=15)
        assert down.returncode == 0, down.stderr
        assert "Stopped 1 process a killed supervisord left running." in down.stdout
        assert "Nothing runs" not in down.stdout
        assert orphan.wait(timeout=5) is not None
    finally:
        orphan.kill()
        orphan.wait()


def test_down_finds_leftovers_with_a_relative_data_folder(site: Path):
    env = site_env(site, free_port(), EXMADO_DATA_DIR="data")
    orphan = leftover(site)
    try:
        down = subprocess.run(
            [sys.executable, "-m", "exmado_tui.cli", "down"],
            cwd=site,
            env=env,
            capture_output=True,
            text=True,
            timeout=15,
        )
        assert down.returncode == 0, down.stderr
        assert "Stopped 1 process a killed supervisord left running." in down.stdout
        assert orphan.wait(timeout=5) is not None
    finally:
        orphan.kill()
        orphan.wait()


def test_the_bundled_redis_creates_its_folders_owner_only(site: Path):
    port = free_port()
    env = site_env(site, port)
    data = site / "data"
    server = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", "redis"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=port).ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.1)
        for folder in (data, data / "redis"):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    finally:
        server.terminate()
        server.wait(timeout=10)
