"""The runs of the `[[schedule]]` entries: checked against the profiles, claimed in the store
once, made into jobs through the job service, and listed with their last and next run.

A watcher looks every `POLL_S`. An entry is due when its next run (`ScheduleEntry.next_run`,
from the last run the store keeps) is not in the future; the watcher then claims it with a
conditional write: an INSERT of its first run (the name is the key) or an UPDATE that holds
only while the last run is the one it read. Another watcher on the same store that read the
same last run changes nothing and moves on, so a run is made once however many watchers run,
and a run missed while every watcher was stopped is made once at the next start. A run that
fails (DocuWare away, a profile changed since) is recorded with its sentence and not tried
again before the next one is due.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

import peewee

from exmado_tui.config.profiles import load_profile, saved_query
from exmado_tui.config.settings import Settings
from exmado_tui.errors import ExmadoError, SettingsError
from exmado_tui.job.actor import Actor, Door, audit_line
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.query_source import QuerySource, counted, since_last_run
from exmado_tui.job.service import JobService
from exmado_tui.schedule.entries import ScheduleEntry
from exmado_tui.store.db import database
from exmado_tui.store.models import ScheduleRun

LOGGER = "exmado.schedule"
log = logging.getLogger(LOGGER)
POLL_S = 20.0  # how often a watcher looks for a due run: a run starts within this of its time
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def check_schedule(settings: Settings) -> None:
    """Refuse, in one sentence naming the entry, one whose profile is unknown or saves no
    query (`config show`, `doctor` and the watcher's start say it)."""
    for entry in settings.schedule:
        entry_query(settings, entry)


def entry_query(settings: Settings, entry: ScheduleEntry) -> QuerySource:
    """The saved `[query]` of the entry's profile."""
    where = f"[[schedule]] {entry.name}: profile {entry.profile!r}"
    try:
        profile = load_profile(settings.profile_dirs, entry.profile)
        query = saved_query(profile, where)
    except ExmadoError as exc:
        raise SettingsError(f"[[schedule]] {entry.name}: {exc}") from None
    if query is None:
        raise SettingsError(f"{where} has no [query]; a schedule exports a profile's query.")
    return query


@dataclass(frozen=True)
class EntryState:
    """An entry as `exmado schedule list` shows it."""

    entry: ScheduleEntry
    last_run: datetime | None  # aware UTC
    next_run: datetime  # aware UTC
    job_id: str
    outcome: str
    claimed_by: str

    def to_json(self) -> dict[str, object]:
        entry = self.entry
        return {
            "name": entry.name,
            "profile": entry.profile,
            "every_s": entry.every_s,
            "at": entry.at or None,
            "since_last_run": entry.since_last_run,
            "output": str(entry.output) if entry.output else None,
            "last_run": self.last_run.isoformat() if self.last_run else None,
            "last_job": self.job_id or None,
            "last_outcome": self.outcome or None,
            "claimed_by": self.claimed_by or None,
            "next_run": self.next_run.isoformat(),
        }


def states(settings: Settings, now: datetime) -> list[EntryState]:
    """Each entry with its last run (from the store) and its next."""
    kept = {run.name: run for run in ScheduleRun.select()}
    return [_state(e, kept.get(e.name), now, settings.zone) for e in settings.schedule]


def _state(
    entry: ScheduleEntry, run: ScheduleRun | None, now: datetime, zone: tzinfo
) -> EntryState:
    if run is None:
        return EntryState(entry, None, entry.next_run(None, now, zone), "", "", "")
    last = _aware(run.last_run_at)
    due = entry.next_run(last, now, zone)
    return EntryState(entry, last, due, run.job_id, run.outcome, run.claimed_by)


def claim(name: str, last: datetime | None, now: datetime, by: str) -> bool:
    """Take the run due after `last` (None: the first): True for the one watcher whose write
    held; False when another took it first."""
    if last is None:
        try:
            with database.atomic():
                ScheduleRun.insert(name=name, last_run_at=_naive(now), claimed_by=by).execute()
        except peewee.IntegrityError:
            return False
        return True
    taken = (
        ScheduleRun.update(last_run_at=_naive(now), claimed_by=by, job_id="", outcome="")
        .where((ScheduleRun.name == name) & (ScheduleRun.last_run_at == _naive(last)))
        .execute()
    )
    return bool(taken == 1)


class Scheduler:
    """The watcher's thread: makes each due run, once."""

    def __init__(self, settings: Settings, clock: Clock = _now) -> None:
        self.settings = settings
        self.clock = clock
        self.by = f"{settings.host}:{os.getpid()}"
        self.service = JobService(settings, actor=Actor.here(Door.SCHEDULE, settings.host))

    def run(self, stop: threading.Event) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # the store away for a moment: look again next time
                log.exception("schedule: looking for due runs failed; trying again")
            if stop.wait(POLL_S):
                return

    def tick(self) -> list[str]:
        """Make every run now due that this watcher claims; the names of those it made."""
        made = []
        for state in states(self.settings, self.clock()):
            now = self.clock()
            if state.next_run <= now and claim(state.entry.name, state.last_run, now, self.by):
                self._make(state.entry, now)
                made.append(state.entry.name)
        return made

    def _make(self, entry: ScheduleEntry, claimed_at: datetime) -> None:
        try:
            job_id, outcome = self._job(entry)
        except ExmadoError as exc:
            job_id, outcome = "", f"Not run: {exc}"
        log.info("schedule %s: %s", entry.name, outcome)
        audit_line(
            self.settings.data_dir, f"Schedule {entry.name} by {self.service.actor}: {outcome}"
        )
        ScheduleRun.update(job_id=job_id, outcome=outcome).where(
            (ScheduleRun.name == entry.name) & (ScheduleRun.last_run_at == _naive(claimed_at))
        ).execute()

    def _job(self, entry: ScheduleEntry) -> tuple[str, str]:
        """The entry's job, made and queued; ("", why not) when its query finds nothing."""
        source = entry_query(self.settings, entry)
        if entry.since_last_run:
            source = since_last_run(source, self.settings.jobs.since_overlap_s)
        source = counted(self.settings.docuware, source)
        if source.counted == 0:
            return "", f"No job: the {source.text} finds no document."
        request = JobRequest(
            source,
            profile=entry.profile,
            output=entry.output,
            name=entry.name,
            source="schedule",
            start=True,
        )
        job = self.service.create(request)
        return job.id, f"Made job {job.short_id} ({source.counted:,} documents counted)."


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)
