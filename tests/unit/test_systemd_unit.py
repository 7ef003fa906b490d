"""The systemd unit shipped for a host agrees with what `exmado up` / `down` really do."""

from __future__ import annotations

import configparser
from pathlib import Path

from exmado_tui.commands.ops import STOP_WAIT_S
from exmado_tui.services.supervision import Stack
from tests.environment import REPO, make_settings

UNIT = REPO / "config" / "systemd" / "exmado.service"


def service_section() -> configparser.SectionProxy:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string(UNIT.read_text())
    return unit["Service"]


def test_the_unit_starts_and_stops_through_exmado(tmp_path: Path):
    service = service_section()
    assert service["Type"] == "forking"  # `exmado up` returns once supervisord runs
    assert service["ExecStart"].endswith("/exmado up")
    assert service["ExecStop"].endswith("/exmado down")


def test_the_unit_waits_for_the_pid_file_and_the_hand_back_that_exmado_uses(tmp_path: Path):
    service = service_section()
    data_dir = Path(service["PIDFile"]).parent.parent
    stack = Stack.of(make_settings(tmp_path, EXMADO_DATA_DIR=str(data_dir)))
    assert Path(service["PIDFile"]) == stack.pid_file
    assert int(service["TimeoutStopSec"]) > STOP_WAIT_S
