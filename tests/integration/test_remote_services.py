"""A worker host whose Redis and PostgreSQL live on other machines: `exmado up` starts neither.

"Another machine" is 127.0.0.2 here — a loopback address that is not one of the names Éxmado
takes for this machine — with a redis-server of the test's own listening on it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from exmado_tui.services.localredis import free_port, redis_server_binary
from exmado_tui.services.queue import WORKER_KEY_PREFIX
from exmado_tui.services.supervision import wait_for
from tests.integration.site import exmado, site_env, site_processes, stop_site

ELSEWHERE = "127.0.0.2"


class RemoteRedis:
    """A redis-server on 127.0.0.2, started when the test says so."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"redis://{ELSEWHERE}:{self.port}/0"
        self.server: subprocess.Popen | None = None

    def start(self) -> None:
        command = [redis_server_binary(), "--port", str(self.port), "--bind", ELSEWHERE]
        self.server = subprocess.Popen(
            [*command, "--save", ""], cwd=self.folder, stdout=subprocess.DEVNULL
        )
        assert wait_for(lambda: _answers(self.url), 10), "the remote Redis did not start"

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(10)


@pytest.fixture
def remote_redis(tmp_path: Path) -> Iterator[RemoteRedis]:
    remote = RemoteRedis(tmp_path)
    yield remote
    remote.stop()


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.RedisError:
        return False


@pytest.mark.slow
def test_a_host_with_remote_redis_and_store_starts_only_its_worker_and_watcher(
    site: Path, remote_redis: RemoteRedis, pg_url: str
) -> None:
    url = remote_redis.url
    env = site_env(site, 0, REDIS_URL=url, EXMADO_DB_URL=pg_url, EXMADO_HOST_NAME="b")
    try:
        up = exmado(site, env, "up")  # the remote Redis is down: no local one stands in
        assert up.returncode == 0, up.stderr
        assert f"Redis at {url}: NOT reachable" in up.stdout
        assert _program(up.stdout, "redis").split()[1] == "STOPPED"  # never asked to start
        assert "redis" not in site_processes(site).values()
        assert exmado(site, env, "down").returncode == 0
        remote_redis.start()
        up = exmado(site, env, "up")
        assert f"Redis at {url}: reachable" in up.stdout
        assert "redis" not in site_processes(site).values()
        assert wait_for(lambda: bool(_workers(url)), 30), "no worker announced itself"
        assert {entry["host"] for entry in _workers(url)} == {"b"}
    finally:
        stop_site(site, env)


def _program(status: str, name: str) -> str:
    return next(line for line in status.splitlines() if line.startswith(f"{name} "))


def _workers(url: str) -> list[dict]:
    client = redis.Redis.from_url(url)
    return [json.loads(client.get(key)) for key in client.scan_iter(f"{WORKER_KEY_PREFIX}*")]
