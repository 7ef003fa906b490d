"""supervisord.conf parses with supervisor's own reader and runs what we expect how we expect."""

from __future__ import annotations

from supervisor.options import ServerOptions

from tests.conftest import REPO


def programs() -> dict:
    options = ServerOptions()
    options.realize(args=["-c", str(REPO / "supervisord.conf")])
    return {p.name: p for group in options.process_group_configs for p in group.process_configs}


def test_the_workers_stop_gracefully():
    worker = programs()["worker"]
    assert worker.command.endswith("exmado worker --processes 2 --threads 2")
    assert worker.stopasgroup is False
    assert worker.stopwaitsecs > 60
    assert worker.autorestart


def test_redis_is_available_but_not_forced_and_the_watcher_runs():
    found = programs()
    assert found["redis"].autostart is False
    assert found["redis"].command.endswith("exmado redis")
    assert found["watch"].command.endswith("exmado watch")
