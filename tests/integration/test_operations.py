"""`exmado up | status | down` run the services under supervisord; `exmado redis` the broker."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from exmado_tui.services.localredis import free_port
from exmado_tui.services.queue import WORKER_KEY_PREFIX
from tests.integration.site import alive, exmado, run_folder, site_env, site_processes, stop_site


@pytest.mark.slow  # supervisord and its programs, for real
def test_up_starts_redis_workers_and_watcher_then_down_stops_them(site: Path):
    port = free_port()
    # The password in a file the host file names by a relative path, the host file named by a
    # relative path too, run from another folder: both are found from the host file's folder.
    (site / "secrets").mkdir()
    (site / "secrets" / "redis").write_text("s3cret-pw\n")
    (site / "secrets" / "redis").chmod(0o600)
    (site / "exmado.toml").write_text('[broker]\npassword_file = "secrets/redis"\n')
    env = site_env(site, port, EXMADO_CONFIG="../exmado.toml")
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
    assert down.returncode == 0 and "Warning" not in down.stderr  # only its own workers
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
def test_the_bundled_redis_has_a_password_of_its_own_and_down_then_up_keeps_it(site: Path):
    port = free_port()
    env = site_env(site, port)
    try:
        up = exmado(site, env, "up")
        assert up.returncode == 0, up.stdout + up.stderr  # the workers signed in to it
        password = (site / "data" / "redis" / "password").read_text().strip()
        assert (site / "data" / "redis" / "password").stat().st_mode & 0o077 == 0
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, retry=Retry(NoBackoff(), 0)).ping()
        with pytest.raises(redis.ResponseError, match="unknown command"):
            redis.Redis(port=port, password=password).config_get("dir")
        shown = exmado(site, env, "config", "show").stdout
        ps = subprocess.run(["ps", "axww"], capture_output=True, text=True).stdout
        assert password not in shown + ps + up.stdout
        supervisord_pid = int((run_folder(site) / "supervisord.pid").read_text())
        # A worker of another stack on this machine uses this Redis: `down` says so.
        other = {"id": "other:1", "host": "other-host", "pid": 1}
        redis.Redis(port=port, password=password).set(
            f"{WORKER_KEY_PREFIX}other:1", json.dumps(other)
        )
        down = exmado(site, env, "down")
        assert down.returncode == 0, down.stderr
        assert "also serves 1 worker process(es) it did not start (host other-host)" in down.stderr
        assert site_processes(site) == {}
        assert not alive(supervisord_pid)
        again = exmado(site, env, "up")
        assert again.returncode == 0, again.stderr
        assert redis.Redis(port=port, password=password).ping()
    finally:
        stop_site(site, env)


@pytest.mark.slow  # supervisord and its programs, for real
def test_up_and_status_say_which_program_failed_and_why_and_exit_1(site: Path):
    (site / "drop").write_text("a file where the drop folder should be")
    env = site_env(site, free_port())
    try:
        up = exmado(site, env, "up", timeout=120)
        assert up.returncode == 1
        # Given up on, or about to be: it stopped with a sentence trying again will not mend.
        assert re.search(r"watch is (FATAL|BACKOFF|STARTING): exmado: The drop folder", up.stderr)
        assert "is a file, not a folder" in up.stderr
        status = exmado(site, env, "status")
        assert status.returncode == 1
        assert "not running: watch; see `exmado logs watch`." in status.stderr
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
