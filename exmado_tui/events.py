"""A job's event log: short lines the TUI tails and the CLI shows."""

from __future__ import annotations

import logging

import peewee

from exmado_tui.db import database
from exmado_tui.event_line import Event, EventLevel
from exmado_tui.formatting import visible
from exmado_tui.models import JobEvent

EVENT_LOGGER = "exmado.jobs"
log = logging.getLogger(EVENT_LOGGER)


def record_event(job_id: str, message: str, level: EventLevel = "info") -> None:
    """Append one line to the job's log (and to the process log), control characters visible."""
    log_event(job_id, store_event(job_id, Event(message, level)))


def store_event(job_id: str, event: Event) -> Event:
    """Append `event` to the job's log; the event as stored (control characters visible)."""
    shown = Event(visible(event.text), event.level)
    JobEvent.create(job=job_id, message=shown.text, level=shown.level)
    return shown


def log_event(job_id: str, event: Event) -> None:
    """Write a stored event to the process log too."""
    log.log(logging.getLevelName(event.level.upper()), "job %s: %s", job_id[:8], event.text)


def update_with_event(job_id: str, update: peewee.ModelUpdate, event: Event | None) -> int:
    """Run `update` of the job's row; when it changed that row, `event` goes into the job's
    log in the same transaction (a changed job has its line, an unchanged one none), and into
    the process log once committed (it tells only what is stored). How many rows changed."""
    with database.atomic():
        changed: int = update.execute()
        stored = store_event(job_id, event) if changed == 1 and event is not None else None
    if stored is not None:
        log_event(job_id, stored)
    return changed
