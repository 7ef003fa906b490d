"""Messages named for what happened, posted by workers to the screens that show the result."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from exmado_tui.job.status import JobStatus
from exmado_tui.store.queries import JobDetail, JobSummary


@dataclass
class JobsRefreshed(Message):
    """A page of the jobs list and the counts were read from the store."""

    jobs: list[JobSummary]
    total: int
    counts: dict[JobStatus, int]


@dataclass
class JobDetailRefreshed(Message):
    """One job was read again from the store."""

    job: JobDetail


@dataclass
class JobActionSucceeded(Message):
    """The job service carried out an action on one or more jobs."""

    action: str
    job_ids: list[str]


@dataclass
class JobActionFailed(Message):
    """The job service refused or failed an action; `error` is one sentence for the user."""

    action: str
    job_id: str
    error: str


@dataclass
class JobFinished(Message):
    """A job reached a final state since the last look."""

    job: JobSummary
