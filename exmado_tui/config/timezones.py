"""The machine's time zone (the default of `timezone`), and how a zone is named to people.

Times are stored in UTC; they are shown in the configured zone, else the machine's: `$TZ`
when it names a zone, else the zone `/etc/localtime` is (a link into the zone database, or a
copy of one of its files), else UTC.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOCALTIME = Path("/etc/localtime")


def system_zone(localtime: Path = LOCALTIME) -> ZoneInfo:
    """The zone this process's clock shows (see the module docstring)."""
    name = os.environ.get("TZ", "").removeprefix(":")
    if name.startswith("/"):
        return _from_file(Path(name)) or ZoneInfo("UTC")
    if name:
        return _named(name) or ZoneInfo("UTC")
    return _from_file(localtime) or ZoneInfo("UTC")


def zone_name(zone: ZoneInfo) -> str:
    """`America/Tegucigalpa`; a zone read from a file without a name, by its abbreviation."""
    return zone.key or zone_abbreviation(zone)


def zone_abbreviation(zone: ZoneInfo, at: datetime | None = None) -> str:
    """`CST`, `UTC`, or the offset where the zone has no abbreviation (`-03`), at `at` (now)."""
    return (at or datetime.now(UTC)).astimezone(zone).strftime("%Z")


def _named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _from_file(path: Path) -> ZoneInfo | None:
    """The zone of a tzfile: by its name when it is (a link to) a file of the zone database."""
    try:
        target = str(path.resolve(strict=True))
    except OSError:
        return None
    if "/zoneinfo/" in target and (zone := _named(target.split("/zoneinfo/", 1)[1])):
        return zone
    try:
        with path.open("rb") as data:
            return ZoneInfo.from_file(data)
    except (OSError, ValueError):
        return None
