"""The host file's `[[schedule]]` entries, and when each runs next.

An entry names a profile with a saved `[query]` and either `every = "1d"` (a number and one
of s, m, h, d, w) or `at = "02:00"` (a time of day in the configured time zone), with
`since_last_run` (default true), and optionally `output` and `name` (the entry's name, also
the job's; default the profile's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from exmado_tui.errors import SettingsError

KEYS = frozenset({"name", "profile", "every", "at", "since_last_run", "output"})
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
EVERY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", re.IGNORECASE)
AT = re.compile(r"\s*(\d{1,2}):(\d{2})\s*")


@dataclass(frozen=True)
class ScheduleEntry:
    """One `[[schedule]]` table, checked: exactly one of `every_s` and `at` is set."""

    name: str
    profile: str
    every_s: float | None = None
    at: str = ""  # "HH:MM", local to the configured time zone
    since_last_run: bool = True
    output: Path | None = None

    @property
    def when(self) -> str:
        """`every 1d` or `at 02:00`, for people."""
        return f"at {self.at}" if self.at else f"every {_span(self.every_s or 0)}"

    def next_run(self, last: datetime | None, now: datetime, zone: tzinfo) -> datetime:
        """When the entry runs next (aware UTC): now when it never ran and runs `every`; else
        `every` after its last run, or the first `at` after it (the first at or after now when
        it never ran). A time already past is due at once, however long ago: one run."""
        if self.every_s is not None:
            return now if last is None else last + timedelta(seconds=self.every_s)
        hour, minute = (int(part) for part in self.at.split(":"))
        start = (last or now).astimezone(zone)
        moment = datetime.combine(start.date(), time(hour, minute), tzinfo=zone)
        if moment < start or (last is not None and moment == start):
            moment = datetime.combine(start.date() + timedelta(days=1), moment.timetz())
        return moment.astimezone(UTC)


def read_schedule(merged: Mapping[str, Any], source: str) -> tuple[ScheduleEntry, ...]:
    """The `[[schedule]]` entries of the settings (which only a host file, `source`, sets)."""
    tables = merged.get("schedule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SettingsError(f"schedule in {source} must be [[schedule]] tables.")
    entries = tuple(_entry(table, n, source) for n, table in enumerate(tables, start=1))
    names = [e.name for e in entries]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise SettingsError(
            f"[[schedule]] in {source} names {twice[0]!r} twice; give each entry its own name."
        )
    return entries


def _entry(table: Mapping[str, Any], number: int, source: str) -> ScheduleEntry:
    profile = table.get("profile")
    name = table.get("name") or profile
    where = f"[[schedule]] {name or f'number {number}'} in {source}"
    if unknown := sorted(set(table) - KEYS):
        raise SettingsError(f"{where}: {unknown[0]} is not a setting of [[schedule]].")
    if not isinstance(profile, str) or not profile.strip():
        raise SettingsError(f"{where}: profile must name a profile with a saved [query].")
    if not isinstance(name, str):
        raise SettingsError(f"{where}: name must be text, got {name!r}.")
    since = table.get("since_last_run", True)
    if not isinstance(since, bool):
        raise SettingsError(f"{where}: since_last_run must be true or false, got {since!r}.")
    output = table.get("output")
    if output is not None and (not isinstance(output, str) or not output.strip()):
        raise SettingsError(f"{where}: output must be a folder's path, got {output!r}.")
    every_s, at = _timing(table, where)
    folder = Path(output).expanduser() if output else None
    return ScheduleEntry(name.strip(), profile.strip(), every_s, at, since, folder)


def _timing(table: Mapping[str, Any], where: str) -> tuple[float | None, str]:
    every, at = table.get("every"), table.get("at")
    if (every is None) == (at is None):
        raise SettingsError(
            f'{where}: give either every (every = "1d") or at (at = "02:00"), not '
            + ("both." if every is not None else "neither.")
        )
    if every is not None:
        found = EVERY.fullmatch(every) if isinstance(every, str) else None
        if found is None or float(found[1]) == 0:
            raise SettingsError(
                f'{where}: every must be a number and a unit (s, m, h, d, w), as "1d" or "6h"; '
                f"got {every!r}."
            )
        return float(found[1]) * UNITS[found[2].lower()], ""
    clock = AT.fullmatch(at) if isinstance(at, str) else None
    if clock is None or int(clock[1]) > 23 or int(clock[2]) > 59:
        raise SettingsError(f'{where}: at must be a time of day as "02:00"; got {at!r}.')
    return None, f"{int(clock[1]):02d}:{clock[2]}"


def _span(seconds: float) -> str:
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
