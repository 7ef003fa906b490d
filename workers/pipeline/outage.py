"""A DocuWare outage told once in a job's events, however many runs it lasts.

The run that finds DocuWare failing as a whole (out of reach, or a streak of passing
failures) hands the job back with a sentence ending in `KEEPS_TRYING`. While that is still
the job's latest event (no row settled since, nobody asked anything of the job) the runs that
follow, every 10-30 s, write neither their start nor their hand-back there, only to the
worker's log. The first run DocuWare serves again says so once: after how long, and which
run continues. A user reading the events gets one account of the outage, not a page of it.
"""

from __future__ import annotations

from datetime import datetime

from exmado_tui.docuware.errors import DocuWareDownError, server_wide
from exmado_tui.formatting import span
from exmado_tui.store.db import utcnow
from exmado_tui.store.models import JobEvent
from workers.pipeline.rows import RowResult

KEEPS_TRYING = "the job keeps trying until DocuWare is back."


def is_outage(exc: BaseException) -> bool:
    """The run was handed back because DocuWare failed as a whole, not for the job's store."""
    return isinstance(exc, DocuWareDownError) or server_wide(exc)


def hand_back_sentence(exc: BaseException) -> str:
    return f"{str(exc).rstrip('.')}; {KEEPS_TRYING}"


def out_since(job_id: str) -> datetime | None:
    """When the job was handed back for an outage that nothing in its events has ended since."""
    last = (
        JobEvent.select(JobEvent.at, JobEvent.message)
        .where(JobEvent.job == job_id)
        .order_by(JobEvent.id.desc())
        .first()
    )
    return last.at if last is not None and last.message.endswith(KEEPS_TRYING) else None


def served(results: list[RowResult]) -> bool:
    """DocuWare served one of these rows: it settled, not for a passing failure (nor without
    a request, as a row with no key does)."""
    return any(not r.retryable and not r.failed_at_import for r in results)


def gave_up_sentence(server: str, since: datetime | None, job_id: str) -> str:
    """The last attempt met the outage: DocuWare named once, and how long it has been away
    when the job's events told when it began (and with it the failure; the worker's log has
    the last)."""
    away = "is away" if since is None else f"has been away for {_away(since)}"
    return (
        f"DocuWare at {server} {away}; the job gave up after several attempts: "
        f"`exmado jobs retry {job_id[:8]}` continues once it is back."
    )


def back_sentence(server: str, since: datetime, run: int, worker: str) -> str:
    return f"DocuWare at {server} is back after {_away(since)}; run {run} continues on {worker}."


def _away(since: datetime) -> str:
    return span((utcnow() - since).total_seconds())
