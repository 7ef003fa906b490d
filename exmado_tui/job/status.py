"""The words of a job's life, free of the store: its statuses and the edges between them, what
became of each of its rows, what a user may ask of the worker holding it, and `Event`, one
line of its log (so the DocuWare client and the pipeline's rows can say what happened without
loading the store).

`transitions.transition` is the one function that moves a job along these edges; the dashboard and
the CLI read them (which action suits which state) without loading the store.

Beyond the diagram in the README ("Job states"), three edges exist on purpose: VALIDATING →
CANCELLED (a cancel asked during validation), and PENDING/PAUSED → FAILED (an operator's `fail`
of a job nobody will run).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class JobStatus(StrEnum):
    PENDING = "PENDING"
    VALIDATING = "VALIDATING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self in FINAL

    @property
    def is_active(self) -> bool:
        """A worker holds the job (or should)."""
        return self in ACTIVE


class RowStatus(StrEnum):
    """What became of one workbook row, in the order the dashboard's row filter and
    `jobs rows --status` list them."""

    DONE = "done"
    NOT_FOUND = "not_found"
    AMBIGUOUS = "ambiguous"
    FAILED = "failed"
    SKIPPED = "skipped"  # a duplicate of an earlier row's key
    PENDING = "pending"

    @property
    def label(self) -> str:
        """The status as a person reads it: `not found`."""
        return self.value.replace("_", " ")


class Control(StrEnum):
    """What a user asked of the worker holding a job (`Job.control`); it honours it within a
    second."""

    PAUSE = "pause"
    CANCEL = "cancel"
    TERMINATE = "terminate"  # the job is CANCELLED already: the worker drops it at once


S = JobStatus
R = RowStatus
FINAL = frozenset({S.COMPLETED, S.COMPLETED_WITH_ERRORS, S.FAILED, S.CANCELLED})
# A worker holds the job (or should): the one definition of "active".
ACTIVE = frozenset({S.VALIDATING, S.RUNNING})
RETRYABLE = frozenset({S.FAILED, S.COMPLETED_WITH_ERRORS, S.CANCELLED})
# Rows that did not succeed: a job with any of them ends COMPLETED_WITH_ERRORS.
ROW_ERRORS = frozenset({R.NOT_FOUND, R.AMBIGUOUS, R.FAILED})
# Rows a retry runs again, but those that failed when the workbook was read (`failed_at_import`).
ROWS_TO_RETRY = frozenset({*ROW_ERRORS, R.PENDING})

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.PENDING: frozenset({S.VALIDATING, S.CANCELLED, S.FAILED}),
    S.VALIDATING: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.RUNNING: frozenset({S.PAUSED, S.COMPLETED, S.COMPLETED_WITH_ERRORS, S.FAILED, S.CANCELLED}),
    S.PAUSED: frozenset({S.RUNNING, S.CANCELLED, S.FAILED}),
    S.COMPLETED: frozenset(),
    S.COMPLETED_WITH_ERRORS: frozenset({S.PENDING}),
    S.FAILED: frozenset({S.PENDING}),
    S.CANCELLED: frozenset({S.PENDING}),
}

VERBS = {
    S.PENDING: "queued again",
    S.VALIDATING: "validated",
    S.RUNNING: "run",
    S.PAUSED: "paused",
    S.COMPLETED: "completed",
    S.COMPLETED_WITH_ERRORS: "completed",
    S.FAILED: "failed",
    S.CANCELLED: "cancelled",
}


def sources_of(target: JobStatus) -> frozenset[JobStatus]:
    """The states from which a job may move to `target`."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


# The names of the logging levels the process log writes the line at.
EventLevel = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Event:
    """One line of a job's log: what happened, and how much it matters."""

    text: str
    level: EventLevel = "info"
