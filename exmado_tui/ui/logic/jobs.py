"""What the dashboard offers on jobs, as plain data: the job actions and the states in which
each makes sense (`ACTIONS`), and the jobs list's status filters (number keys 1–9) and sort
orders (key `o`). No Textual here."""

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


@dataclass(frozen=True)
class StatusFilter:
    key: str  # the number key that selects it
    name: str  # the id used in actions and tests
    label: str
    statuses: tuple[JobStatus, ...]  # empty: every job

    def count(self, counts: dict[JobStatus, int]) -> int:
        wanted = self.statuses or tuple(JobStatus)
        return sum(counts.get(s, 0) for s in wanted)


FILTERS: tuple[StatusFilter, ...] = (
    StatusFilter("1", "all", "All", ()),
    StatusFilter("2", "active", "Active", (S.PENDING, S.VALIDATING, S.RUNNING, S.PAUSED)),
    StatusFilter("3", "pending", "Pending", (S.PENDING,)),
    StatusFilter("4", "running", "Running", (S.VALIDATING, S.RUNNING)),
    StatusFilter("5", "paused", "Paused", (S.PAUSED,)),
    StatusFilter("6", "completed", "Done", (S.COMPLETED,)),
    StatusFilter("7", "errors", "Errors", (S.COMPLETED_WITH_ERRORS,)),
    StatusFilter("8", "failed", "Failed", (S.FAILED,)),
    StatusFilter("9", "cancelled", "Cancelled", (S.CANCELLED,)),
)
FILTER_BY_NAME = {f.name: f for f in FILTERS}

# (key in queries.SORTABLE, label); `o` steps through them in this order.
SORTS: tuple[tuple[str, str], ...] = (
    ("created", "created"),
    ("started", "started"),
    ("name", "name"),
    ("status", "status"),
    ("progress", "rows done"),
    ("rows", "rows"),
    ("user", "user"),
)


def next_sort(current: str) -> str:
    keys = [key for key, _ in SORTS]
    return keys[(keys.index(current) + 1) % len(keys)] if current in keys else keys[0]


def sort_label(key: str) -> str:
    return dict(SORTS).get(key, key)
