"""`exmado workers --watch`: the view again and again until Ctrl+C, against a real Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import redis

from exmado_tui.services.queue import WORKER_KEY_PREFIX
from tests.environment import REPO


def _watch(env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", "workers", "--watch", "--interval", "0.2", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
        # A suite started in the background hands its children an ignored SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_watch_as_json_lines_follows_a_worker_coming(env, redis_url):
    process = _watch(env, "--json")
    try:
        assert json.loads(process.stdout.readline())["workers"] == []
        worker = {"id": "h:1", "host": "h", "pid": 1, "threads": 3, "jobs": []}
        redis.Redis.from_url(redis_url).set(WORKER_KEY_PREFIX + "h:1", json.dumps(worker), ex=30)
        for _ in range(50):
            seen = json.loads(process.stdout.readline())["workers"]
            if seen:
                break
        assert seen == [{**worker, "heartbeat_age_s": None}]  # a worker of ours has `seen`
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert (process.returncode, err) == (130, "")


def test_watch_as_text_repeats_the_view_with_its_time(env, redis_url):
    process = _watch(env)
    try:
        lines = [process.stdout.readline() for _ in range(14)]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    headers = [line for line in lines if line.startswith("Every 0.2 s, last at ")]
    assert len(headers) >= 2
    assert "(no worker alive: start one with `exmado worker` or `exmado up`)\n" in lines
    assert "\x1b[2J" not in "".join(lines)  # not a terminal: no screen clearing
