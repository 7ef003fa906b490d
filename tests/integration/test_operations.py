"""`exmado up | status | down` run the services under supervisord; `exmado redis` the broker."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from exmado_tui.localredis import free_port


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder for one stack: its data folder (with supervisord's state) is `site/data`, and
    it runs from another folder than the checkout, as an installed package would."""
    (tmp_path / "elsewhere").mkdir()
    return tmp_path


def run_folder(site: Path) -> Path:
    return site / "data" / "run"


def exmado(
    site: Path, env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "exmado_tui.cli", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout, cwd=site / "elsewhere"
    )


@pytest.mark.slow  # supervisord and its programs, for real
def test_up_starts_redis_workers_and_watcher_then_down_stops_them(site: Path):
    port = free_port()
    env = {
        **os.environ,
        "EXMADO_DATA_DIR": str(site / "data"),
        "EXMADO_DROP_FOLDER": str(site / "drop"),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "REDIS_PASSWORD": "s3cret-pw",
    }
    try:
        up = exmado(site, env, "up")
        assert up.returncode == 0, up.stderr
        assert f"Logs: {run_folder(site)}" in up.stdout
        assert not (site / "elsewhere" / ".run").exists()
        for program in ("redis", "worker", "watch"):
            assert f"{program} " in up.stdout and "RUNNING" in up.stdout
        assert "reachable" in up.stdout and "NOT reachable" not in up.stdout
        assert redis.Redis(port=port, password="s3cret-pw").ping()
        conf = site / "data" / "redis" / "redis.conf"
        assert conf.stat().st_mode & 0o077 == 0
        assert (
            "s3cret-pw" not in subprocess.run(["ps", "axww"], capture_output=True, text=True).stdout
        )
    finally:
        down = exmado(site, env, "down")
    assert down.returncode == 0
    status = exmado(site, env, "status")
    assert status.returncode == 1
    assert "not running" in status.stdout


def test_the_bundled_redis_refuses_a_remote_broker_url(site: Path):
    env = {
        **os.environ,
        "EXMADO_DATA_DIR": str(site / "data"),
        "REDIS_URL": "redis://queue.example.com:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "exmado_tui.cli", "redis"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "queue.example.com, not this machine" in result.stderr


def site_processes(site: Path) -> dict[int, str]:
    """pid → program of every live process supervisord started for this site (orphans too):
    by supervisord's socket in the environment, or for Redis (which overwrites its
    environment) by its working folder."""
    marker = f"SUPERVISOR_SERVER_URL=unix://{run_folder(site)}/supervisor.sock".encode()
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if not alive(int(entry.name)):
            continue
        if cwd == site / "data" / "redis":
            found[int(entry.name)] = "redis"
        elif marker in environ:
            names = [v for v in environ if v.startswith(b"SUPERVISOR_PROCESS_NAME=")]
            found[int(entry.name)] = names[0].split(b"=", 1)[1].decode() if names else ""
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie (this container's init may never reap an orphan)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def site_env(site: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "EXMADO_DATA_DIR": str(site / "data"),
        "EXMADO_DROP_FOLDER": str(site / "drop"),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        **extra,
    }


def stop_site(site: Path, env: dict[str, str]) -> None:
    """`exmado down`, then SIGKILL whatever of this site still runs, supervisord first."""
    exmado(site, env, "down")
    pidfile = run_folder(site) / "supervisord.pid"
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (left := site_processes(site)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


@pytest.mark.slow  # supervisord and its programs, for real
def test_down_returns_once_everything_stopped_so_up_can_follow_at_once(site: Path):
    env = site_env(site, free_port())
    try:
        assert exmado(site, env, "up").returncode == 0
        supervisord_pid = int((run_folder(site) / "supervisord.pid").read_text())
        down = exmado(site, env, "down")
        assert down.returncode == 0, down.stderr
        assert site_processes(site) == {}
        assert not alive(supervisord_pid)
        again = exmado(site, env, "up")
        assert again.returncode == 0, again.stderr
    finally:
        stop_site(site, env)


@pytest.mark.slow  # supervisord and its programs, for real
def test_up_after_supervisord_was_killed_adopts_no_duplicates_and_down_leaves_nothing(
    site: Path,
):
    env = site_env(site, free_port())
    try:
        assert exmado(site, env, "up").returncode == 0
        os.kill(int((run_folder(site) / "supervisord.pid").read_text()), signal.SIGKILL)
        up = exmado(site, env, "up")
        assert up.returncode == 0, up.stderr
        assert "redis " in up.stdout and "STOPPED" not in up.stdout
        names = sorted(site_processes(site).values())
        assert names.count("watch") == 1, names
        assert names.count("redis") == 1, names
        assert names.count("worker") == 3, names  # dramatiq's parent and its 2 processes
        assert exmado(site, env, "down").returncode == 0
        assert site_processes(site) == {}
    finally:
        stop_site(site, env)


@pytest.mark.slow  # supervisord and its programs, for real
def test_a_password_in_redis_url_protects_the_bundled_redis(site: Path):
    port = free_port()
    env = site_env(site, port, REDIS_URL=f"redis://:url-pw%22%5Cx@127.0.0.1:{port}/0")
    try:
        up = exmado(site, env, "up")
        assert up.returncode == 0, up.stderr
        assert "NOT reachable" not in up.stdout
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()
        assert redis.Redis(port=port, password='url-pw"\\x').ping()
        ps = subprocess.run(["ps", "axww"], capture_output=True, text=True).stdout
        assert "url-pw" not in ps
    finally:
        stop_site(site, env)
