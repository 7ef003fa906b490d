"""Plain-text formatting shared by the CLI and the TUI: local times, durations, sizes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def local_time(value: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored naive-UTC timestamp shown in the user's zone."""
    if value is None:
        return "-"
    return value.replace(tzinfo=UTC).astimezone(zone).strftime(fmt)


def duration(seconds: float | None) -> str:
    """`4d05h`, `1h02m`, `3m05s`, `42s`, or `-`: at most 7 characters below 1,000 days."""
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 100:
        days, hours = divmod(hours, 24)
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def size(num_bytes: int) -> str:
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
