"""Jobs that need a person without having moved: running with no progress for
`stalled_after_min`, or slowed by DocuWare throttling for `throttled_after_min`.

Nothing moves such a job, so the deliverer looks for them at each tick. A notice's key names
the episode (the job's last progress; the event that began the throttling), so one episode is
one notice, however often and on however many hosts it is seen. (A pause for a full disk is a
move: `transitions.transition` writes its notice.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from exmado_tui.docuware.budget import OVER, SLOWED
from exmado_tui.job.status import JobStatus
from exmado_tui.notify import outbox
from exmado_tui.notify.kinds import NoticeKind
from exmado_tui.notify.targets import NotifySettings
from exmado_tui.store.models import Job, JobEvent


def look(settings: NotifySettings, now: datetime) -> None:
    if settings.stalled_after_min:
        stalled(now - timedelta(minutes=settings.stalled_after_min), settings.stalled_after_min)
    if settings.throttled_after_min:
        slowed(now - timedelta(minutes=settings.throttled_after_min), settings.throttled_after_min)


def stalled(before: datetime, minutes: float) -> None:
    """Running jobs whose rows and counters have not changed since `before`."""
    jobs = Job.select(Job.id, Job.updated_at).where(
        (Job.status == JobStatus.RUNNING) & (Job.updated_at < before)
    )
    for job in jobs:
        reason = f"no progress for {minutes:g} minutes (since {job.updated_at:%H:%M} UTC)"
        key = f"stalled:{job.id}:{job.updated_at.isoformat()}"
        outbox.add_for_job(job.id, NoticeKind.NEEDS_ATTENTION, reason, key=key)


def slowed(before: datetime, minutes: float) -> None:
    """Running jobs whose last throttling sentence is an episode's start older than `before`."""
    running = Job.select(Job.id).where(Job.status == JobStatus.RUNNING)
    for job in running:
        last = (
            JobEvent.select(JobEvent.id, JobEvent.at, JobEvent.message)
            .where(
                (JobEvent.job == job.id)
                & (JobEvent.message.startswith(SLOWED) | JobEvent.message.startswith(OVER))
            )
            .order_by(JobEvent.id.desc())
            .first()
        )
        if last is not None and last.message.startswith(SLOWED) and last.at < before:
            reason = f"slowed by DocuWare throttling for over {minutes:g} minutes: {last.message}"
            key = f"throttled:{job.id}:{last.id}"
            outbox.add_for_job(job.id, NoticeKind.NEEDS_ATTENTION, reason, key=key)
