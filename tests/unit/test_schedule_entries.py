"""`[[schedule]]` entries: read from the host file (each mistake one sentence naming the
setting), and when each runs next, driven by a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from exmado_tui.config.loading import load_settings
from exmado_tui.errors import SettingsError
from exmado_tui.schedule.entries import ScheduleEntry, read_schedule
from tests.clocks import ManualClock
from tests.environment import settings_env

BERLIN = ZoneInfo("Europe/Berlin")
NIGHTLY = ScheduleEntry("nightly", "acme", at="02:00")
HOURLY = ScheduleEntry("hourly", "acme", every_s=3600)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_runs_at_once_the_first_time_then_every_period_after_the_last():
    clock = ManualClock(utc("2026-03-01T10:00:00").timestamp())
    now = datetime.fromtimestamp(clock(), UTC)
    assert HOURLY.next_run(None, now, BERLIN) == now
    clock.now += 600
    last = now
    now = datetime.fromtimestamp(clock(), UTC)
    assert HOURLY.next_run(last, now, BERLIN) == utc("2026-03-01T11:00:00") > now


def test_at_is_the_next_time_of_day_in_the_configured_zone():
    # 02:00 in Berlin is 01:00 UTC in winter, 00:00 UTC in summer.
    assert NIGHTLY.next_run(None, utc("2026-03-01T00:30:00"), BERLIN) == utc("2026-03-01T01:00")
    assert NIGHTLY.next_run(None, utc("2026-03-01T01:00:01"), BERLIN) == utc("2026-03-02T01:00")
    assert NIGHTLY.next_run(None, utc("2026-07-01T23:00:00"), BERLIN) == utc("2026-07-02T00:00")


def test_a_run_made_at_its_time_is_not_due_again_that_day():
    made = utc("2026-03-01T01:00:00")
    assert NIGHTLY.next_run(made, made, BERLIN) == utc("2026-03-02T01:00")


def test_runs_missed_while_stopped_are_one_run_due_now():
    last = utc("2026-03-01T01:00:05")  # then the watcher stopped for three days
    now = utc("2026-03-04T09:00:00")
    due = NIGHTLY.next_run(last, now, BERLIN)
    assert due == utc("2026-03-02T01:00") <= now  # due: run once, now
    assert NIGHTLY.next_run(now, now, BERLIN) == utc("2026-03-05T01:00")  # then tomorrow
    assert HOURLY.next_run(last, now, BERLIN) <= now
    assert HOURLY.next_run(now, now, BERLIN) == now + timedelta(hours=1)


def test_entries_are_read_with_their_defaults():
    [entry] = read_schedule(
        {"schedule": [{"profile": "acme", "every": "6h", "output": "~/x"}]}, "host.toml"
    )
    assert entry == ScheduleEntry("acme", "acme", 21600, "", True, Path("~/x").expanduser())
    assert entry.when == "every 6h"
    [entry] = read_schedule(
        {"schedule": [{"name": "n", "profile": "acme", "at": "2:05", "since_last_run": False}]},
        "host.toml",
    )
    assert (entry.at, entry.when, entry.since_last_run) == ("02:05", "at 02:05", False)


@pytest.mark.parametrize(
    ("table", "sentence"),
    [
        (
            {"profile": "acme", "every": "1d", "at": "02:00"},
            '[[schedule]] acme in host.toml: give either every (every = "1d") or at '
            '(at = "02:00"), not both.',
        ),
        ({"profile": "acme"}, "not neither."),
        ({"profile": "acme", "every": "daily"}, "every must be a number and a unit"),
        ({"profile": "acme", "every": "0h"}, "got '0h'"),
        ({"profile": "acme", "at": "25:00"}, 'at must be a time of day as "02:00"; got'),
        ({"profile": "acme", "at": 2}, "got 2."),
        ({"every": "1d"}, "[[schedule]] number 1 in host.toml: profile must name a profile"),
        ({"profile": "acme", "at": "02:00", "hour": 2}, "hour is not a setting of [[schedule]]"),
        ({"profile": "acme", "at": "02:00", "since_last_run": "yes"}, "true or false"),
    ],
)
def test_a_mistake_is_one_sentence_naming_the_setting(table, sentence):
    with pytest.raises(SettingsError) as caught:
        read_schedule({"schedule": [table]}, "host.toml")
    assert sentence in str(caught.value)


def test_two_entries_of_one_name_are_refused():
    twice = [{"profile": "acme", "at": "02:00"}, {"profile": "acme", "every": "1d"}]
    with pytest.raises(SettingsError, match="names 'acme' twice; give each entry its own name"):
        read_schedule({"schedule": twice}, "host.toml")


def test_the_settings_carry_the_host_files_entries(tmp_path: Path):
    host = tmp_path / "host.toml"
    host.write_text('[[schedule]]\nprofile = "acme"\nat = "02:00"\n')
    env = {**settings_env(tmp_path), "EXMADO_CONFIG": str(host)}
    assert load_settings(environ=env).schedule == (ScheduleEntry("acme", "acme", at="02:00"),)
