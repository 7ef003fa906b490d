"""Argument types of `exmado jobs …`: a status, seconds, a whole number, a point in time."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from exmado_tui.job.status import JobStatus


def job_status(text: str) -> JobStatus:
    try:
        return JobStatus(text.upper())
    except ValueError:
        known = ", ".join(s.value for s in JobStatus)
        raise argparse.ArgumentTypeError(f"unknown status {text!r} (one of {known})") from None


def seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds ≥ 0, got {text!r}")
    return seconds


AGO = {"m": "minutes", "h": "hours", "d": "days"}


def since_time(text: str) -> Callable[[ZoneInfo], datetime]:
    """WHEN → a function of the user's zone giving naive UTC: `7d`, `12h`, `90m` ago, or a
    local date or date and time."""
    number, unit = text[:-1], text[-1:].lower()
    if unit in AGO and number.isdigit():
        moment = datetime.now(UTC).replace(tzinfo=None) - timedelta(**{AGO[unit]: int(number)})
        return lambda zone: moment
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a date (2026-11-28), a date and time (2026-11-28 14:00) or an age "
            f"(90m, 12h, 7d), got {text!r}"
        ) from None
    return lambda zone: (
        local.replace(tzinfo=local.tzinfo or zone).astimezone(UTC).replace(tzinfo=None)
    )


def whole_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 1, got {text!r}")
    return number
