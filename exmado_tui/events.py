"""A job's event log: short lines the TUI tails and the CLI shows."""

from __future__ import annotations

import logging

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
