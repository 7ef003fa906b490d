"""Another user of the machine against the bundled Redis (`exmado redis`, as supervisord runs
it): without the password it cannot read, write or wipe the queue; with it, nothing can make
Redis write files where it likes; the password shows in no process's arguments."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from exmado_tui.services import supervision
from exmado_tui.services.localredis import free_port, password_file
from tests.reliability.tally import Tally

DISABLED = ("CONFIG GET dir", "SAVE", "DEBUG SLEEP 0", "MODULE LIST", "REPLICAOF NO ONE")


@pytest.fixture
def bundled_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """`exmado redis` for a fresh data folder on a free port: (port, data folder)."""
    port, data = free_port(), tmp_path / "data"
    env = {**os.environ, "EXMADO_DATA_DIR": str(data), "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    env.pop("REDIS_PASSWORD", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", "redis"], env=env, stdout=subprocess.DEVNULL
    )
    try:
        assert supervision.wait_for(lambda: _listening(port), 30), "exmado redis did not start"
        yield port, data
    finally:
        server.terminate()
        server.wait(10)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def test_a_local_user_cannot_use_the_bundled_redis(bundled_redis, tally: Tally):
    port, data = bundled_redis
    secret = password_file(data)
    password = secret.read_text().strip()
    stranger = redis.Redis(port=port, retry=Retry(NoBackoff(), 0))  # one try each
    refused = []
    for command in ("PING", "SET exmado:x 1", "FLUSHALL", "KEYS *"):
        with contextlib.suppress(redis.AuthenticationError):
            stranger.execute_command(*command.split())
            refused.append(f"{command} answered without a password")
    ours = redis.Redis(port=port, password=password)
    assert ours.ping()
    for command in DISABLED:
        try:
            ours.execute_command(*command.split())
            refused.append(f"{command} answered")
        except redis.ResponseError as exc:
            if "unknown command" not in str(exc):
                refused.append(f"{command}: {exc}")
    ps = subprocess.run(["ps", "axww"], capture_output=True, text=True).stdout
    if password in ps:
        refused.append("the password shows in ps")
    if secret.stat().st_mode & 0o077 or (data / "redis" / "redis.conf").stat().st_mode & 0o077:
        refused.append("the password's files are readable by others")
    tally.security("redis without password", held=not refused)
    assert refused == []
