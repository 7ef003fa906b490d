"""The job actions the dashboard offers and when each makes sense."""

from __future__ import annotations

from dataclasses import dataclass

from exmado_tui.job.status import ACTIVE, FINAL, JobStatus, sources_of

S = JobStatus


@dataclass(frozen=True)
class JobAction:
    name: str  # the JobService method
    label: str
    key: str
    allowed: frozenset[JobStatus]  # the states in which the action can succeed
    past: str  # for notices: "3 jobs paused"
    confirm: bool = False  # ask even for a single job


# Derived from the transition table where an action is a move: cancel, retry and fail may be
# asked wherever the edge to their target starts. The others are requests a worker honours
# (pause: while it holds the job; resume: of a paused job; terminate: fail a held or paused
# job at once), queueing (start) or removal (delete).
ACTIONS: dict[str, JobAction] = {
    a.name: a
    for a in (
        JobAction("start", "Start", "s", frozenset({S.PENDING}), "queued"),
        JobAction("pause", "Pause", "p", ACTIVE, "asked to pause"),
        JobAction("resume", "Resume", "r", frozenset({S.PAUSED}), "resumed"),
        JobAction("cancel", "Cancel", "c", sources_of(S.CANCELLED), "cancelled", confirm=True),
        JobAction("retry", "Retry", "R", sources_of(S.PENDING), "queued again"),
        JobAction("fail", "Fail", "F", sources_of(S.FAILED), "marked failed", confirm=True),
        JobAction(
            "terminate",
            "Terminate",
            "T",
            sources_of(S.FAILED) - {S.PENDING},
            "terminated",
            confirm=True,
        ),
        JobAction("delete", "Delete", "d", FINAL | {S.PENDING}, "deleted", confirm=True),
    )
}


def jobs_word(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"
