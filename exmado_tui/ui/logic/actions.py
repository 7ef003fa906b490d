"""The job actions the dashboard offers, when each makes sense, and the read-only guard."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from textual.binding import ActiveBinding

from exmado_tui.lifecycle import ACTIVE, FINAL, JobStatus, sources_of
from exmado_tui.ui.shared.app_access import exmado_app

S = JobStatus
F = TypeVar("F", bound=Callable[..., Any])
READONLY_NOTICE = "Read-only dashboard: {what} is disabled (started with --readonly)."


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


def mutating(method: F) -> F:
    """Mark an action method as changing something: in read-only mode it refuses with a notice
    (and its key is hidden from the footer, see `HidesMutatingKeysWhenReadOnly`)."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(self.app, "readonly", False):
            what = method.__name__.removeprefix("action_").replace("_", " ")
            self.app.notify(READONLY_NOTICE.format(what=what), severity="warning")
            return None
        return method(self, *args, **kwargs)

    guarded.mutating = True  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def is_mutating(node: Any, action: str) -> bool:
    name = action.split("(", 1)[0].rsplit(".", 1)[-1]
    return bool(getattr(getattr(node, f"action_{name}", None), "mutating", False))


class HidesMutatingKeysWhenReadOnly:
    """For a screen: in a read-only dashboard the keys of mutating actions stay bound (so they
    refuse with a notice) but the footer does not show them.

    Through `Screen.active_bindings`, the property the footer reads: the bindings themselves
    are not touched.
    """

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        active: dict[str, ActiveBinding] = super().active_bindings  # type: ignore[misc]
        if not exmado_app(self).readonly:
            return active
        return {key: _hidden_if_mutating(entry) for key, entry in active.items()}


def _hidden_if_mutating(entry: ActiveBinding) -> ActiveBinding:
    if not is_mutating(entry.node, entry.binding.action):
        return entry
    return entry._replace(binding=replace(entry.binding, show=False))
