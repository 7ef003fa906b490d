"""`exmado up | status | down` run the services under supervisord; `exmado redis` the broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from exmado_tui.localredis import free_port
from tests.integration.site import alive, exmado, run_folder, site_env, site_processes, stop_site


@pytest.mark.slow  # supervisord and its programs, for real
def test_up_starts_redis_workers_and_watcher_then_down_stops_them(site: Path):
    port = free_port()
    env = site_env(site, port, REDIS_PASSWORD="s3cret-pw")
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
