"""The supervisord.conf `exmado up` renders parses with supervisor's own reader, keeps all of
its state in the data folder and runs what we expect how we expect."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from supervisor.options import ServerOptions

from exmado_tui.errors import SettingsError
from exmado_tui.services.supervision import Stack, log_file, run_dir
from tests.environment import make_settings


def realized(tmp_path: Path) -> ServerOptions:
    stack = Stack.of(make_settings(tmp_path))
    options = ServerOptions()
    options.realize(args=["-c", str(stack.write_conf())])
    return options


def programs(tmp_path: Path) -> dict:
    groups = realized(tmp_path).process_group_configs
    return {p.name: p for group in groups for p in group.process_configs}


def test_the_workers_stop_gracefully(tmp_path: Path):
    worker = programs(tmp_path)["worker"]
    assert worker.command.endswith("-m exmado_tui.cli worker --processes 2 --threads 2")
    assert worker.command.startswith(sys.executable)
    assert worker.stopasgroup is False
    assert worker.stopwaitsecs > 60
    assert worker.autorestart


def test_redis_is_available_but_not_forced_and_the_watcher_runs(tmp_path: Path):
    found = programs(tmp_path)
    assert found["redis"].autostart is False
    assert found["redis"].command.endswith("exmado_tui.cli redis")
    assert found["watch"].command.endswith("exmado_tui.cli watch")


def test_all_runtime_state_lives_in_the_data_folder(tmp_path: Path):
    settings = make_settings(tmp_path)
    run = run_dir(settings)
    assert run.is_relative_to(settings.data_dir)
    options = realized(tmp_path)
    state = [options.logfile, options.pidfile, options.childlogdir, options.directory]
    state += [options.server_configs[0]["file"]]
    state += [p.stdout_logfile for p in programs(tmp_path).values()]
    assert all(Path(path).is_relative_to(run) for path in state), state
    assert log_file(settings, "worker") == run / "worker.log"
    assert (run.stat().st_mode & 0o077) == 0


def test_a_percent_sign_in_the_data_folder_is_refused_in_one_sentence(tmp_path: Path):
    folder = tmp_path / "100%(here)s"
    with pytest.raises(SettingsError, match=r"holds a '%'; set data_dir"):
        Stack.of(make_settings(folder)).write_conf()
