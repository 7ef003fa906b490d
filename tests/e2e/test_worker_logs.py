"""A real worker with Redis down says so once, not three times a second."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exmado_tui.services.localredis import free_port
from exmado_tui.services.supervision import wait_for

REGISTRY = "Cannot announce this worker in Redis"
CONSUMER = "Consumer encountered a connection error"


@pytest.mark.slow
def test_a_worker_with_redis_down_says_each_thing_once(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "EXMADO_DATA_DIR": str(tmp_path / "data"),
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
    }
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "exmado_tui.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_for(lambda: REGISTRY in log.read_text(), 30), "no warning at all"
        time.sleep(4)  # unheld, the registry would say it 4 more times, the consumers once more
    finally:
        worker.terminate()
        worker.wait(30)
    text = log.read_text()
    assert text.count(REGISTRY) == 1
    assert text.count(f"ConsumerThread(jobs)] [CRITICAL] {CONSUMER}") == 1
