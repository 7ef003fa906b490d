"""Times show in the machine's zone unless `timezone` names one, and say which zone they are in."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import system_zone, zone_abbreviation, zone_name
from tests.environment import settings_env
from tests.factories import insert_job
from tests.fresh_python import run_code

ZONEINFO = Path("/usr/share/zoneinfo")


@pytest.mark.parametrize(
    ("tz", "key"),
    [
        ("Asia/Tokyo", "Asia/Tokyo"),
        (":Europe/Berlin", "Europe/Berlin"),
        ("UTC", "UTC"),
        ("Mars/Olympus", "UTC"),  # not a zone: UTC, as the C library takes it
    ],
)
def test_tz_names_the_machines_zone(monkeypatch, tz: str, key: str) -> None:
    monkeypatch.setenv("TZ", tz)
    assert system_zone().key == key


def test_without_tz_the_zone_is_where_etc_localtime_points(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TZ")
    link = tmp_path / "localtime"
    link.symlink_to(ZONEINFO / "America" / "Tegucigalpa")
    assert system_zone(link).key == "America/Tegucigalpa"


def test_a_copied_zone_file_has_no_name_and_is_called_by_its_abbreviation(
    monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TZ")
    copy = tmp_path / "localtime"
    shutil.copy(ZONEINFO / "America" / "Tegucigalpa", copy)
    zone = system_zone(copy)
    assert zone_name(zone) == "CST"
    assert datetime(2026, 12, 4, 13, 26, tzinfo=zone).utcoffset().total_seconds() == -6 * 3600
    assert system_zone(tmp_path / "missing").key == "UTC"


def test_the_default_is_the_machines_zone_and_a_setting_overrides_it(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert load_settings(environ={}).timezone == ""
    assert load_settings(environ={}).zone.key == "Asia/Tokyo"
    chosen = load_settings(environ={"EXMADO_TIMEZONE": "America/Tegucigalpa"})
    assert zone_abbreviation(chosen.zone) == "CST"


def test_on_a_utc_machine_jobs_show_and_list_say_utc(store, tmp_path: Path) -> None:
    insert_job("a1b2c3d4", "COMPLETED", created_at=datetime(2026, 12, 4, 13, 26))
    env = {**settings_env(tmp_path), "TZ": "UTC"}  # the process's zone, as on that machine
    assert "Created:     2026-12-04 13:26 UTC\n" in exmado(env, "jobs", "show", "a1b2c3d4")
    header, line = exmado(env, "jobs", "list").splitlines()
    assert header.split()[7:9] == ["CREATED", "UTC"]
    assert "2026-12-04 13:26" in line


def exmado(env: dict[str, str], *argv: str) -> str:
    """What `exmado ARGV` printed, run in a fresh process with `env`; it must succeed."""
    done = run_code(
        f"import sys; from exmado_tui.cli import main; sys.exit(main({list(argv)!r}))", **env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
