"""The status filters of the jobs list (number keys 1–9) and the sort orders (key `o`)."""

from __future__ import annotations

from dataclasses import dataclass

from exmado_tui.job.status import JobStatus

S = JobStatus


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
