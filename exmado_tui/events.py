"""A job's event log: short lines the TUI tails and the CLI shows."""

from __future__ import annotations

import logging

from exmado_tui.formatting import visible
from exmado_tui.models import JobEvent

EVENT_LOGGER = "exmado.jobs"
log = logging.getLogger(EVENT_LOGGER)


def record_event(job_id: str, message: str, level: str = "info") -> None:
    """Append one line to the job's log (and to the process log), control characters visible."""
    message = visible(message)
    JobEvent.create(job=job_id, message=message, level=level)
    log.log(logging.getLevelName(level.upper()), "job %s: %s", job_id[:8], message)
