"""Durations, sizes and local times as the CLI and the dashboard print them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from exmado_tui.formatting import counted, duration, local_time


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (42.9, "42s"),
        (185, "3m05s"),
        (3720, "1h02m"),
        (99 * 3600 + 59 * 60, "99h59m"),
        (100 * 3600, "4d04h"),
        (14872 * 3600 + 40 * 60, "619d16h"),
    ],
)
def test_durations_fit_the_seven_character_columns(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text
    assert len(duration(seconds)) <= 7


def test_a_stored_utc_time_is_shown_in_the_user_s_zone() -> None:
    shown = local_time(datetime(2026, 7, 1, 12, 0), ZoneInfo("Europe/Berlin"))
    assert shown == "2026-07-01 14:00" and local_time(None, ZoneInfo("UTC")) == "-"


@pytest.mark.parametrize(
    ("count", "said"), [(0, "0 files"), (1, "1 file"), (2, "2 files"), (1234, "1,234 files")]
)
def test_a_count_takes_its_noun_singular_for_one(count: int, said: str) -> None:
    assert counted(count, "file") == said
