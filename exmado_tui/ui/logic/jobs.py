"""What the dashboard shows and offers on jobs, as plain data and rich text; no Textual here.

The job actions and the states in which each makes sense (`ACTIONS`); the jobs list's status
filters (number keys 1–9) and sort orders (key `o`); and a job's screen besides its widgets:
the job read with its row counts, the reports in its output folder, the Config tab (where the
job came from and went, then its settings as its profile file would say them) and the rate
line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.pretty import Pretty
from rich.table import Table
from rich.text import Text

from exmado_tui.config.profiles import Profile, profile_toml
from exmado_tui.config.settings import zone_name
from exmado_tui.formatting import duration, local_time, visible
from exmado_tui.job.status import ACTIVE, FINAL, JobStatus, RowStatus, sources_of
from exmado_tui.store.queries import JobDetail, JobSummary, get_job, row_counts
from exmado_tui.ui.logic.paths import FoldedPaths

S = JobStatus

# -- the job actions --------------------------------------------------------------------------


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


# -- the jobs list ----------------------------------------------------------------------------


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


# -- a job's screen ---------------------------------------------------------------------------

REPORT_HINTS = ("report", "manifest")


def read_detail(job_id: str) -> tuple[JobDetail, dict[RowStatus, int]]:
    return get_job(job_id), row_counts(job_id)


def find_reports(output_dir: str) -> list[Path]:
    """Report workbooks and manifests at the top of the job's output folder."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and any(hint in p.name.lower() for hint in REPORT_HINTS)
    )


PATH_FACTS = frozenset({"Workbook", "Output"})  # of `config_facts`: a path a line


def config_facts(job: JobDetail, zone: ZoneInfo) -> list[tuple[str, str]]:
    """What the Config tab says above the settings: where the job came from and went."""
    return [
        ("Id", job.id),
        ("Profile", visible(job.profile or "(none)")),
        (
            ("Query", visible(job.workbook_name))
            if job.from_query
            else ("Workbook", f"{visible(job.workbook_name)}\n{visible(job.workbook_path)}")
        ),
        ("SHA-256", job.workbook_sha256),
        ("Output", visible(job.output_dir)),
        ("By", visible(f"{job.user} via {job.source}")),
        ("Created", local_time(job.created_at, zone)),
        ("Started", local_time(job.started_at, zone)),
        ("Finished", local_time(job.finished_at, zone)),
        ("Zone", zone_name(zone)),
        ("Runs", str(job.runs)),
        ("Worker", visible(job.worker or "-")),
    ]


def config_table(facts: list[tuple[str, str]], config: dict[str, Any]) -> Table:
    """The Config tab: the facts, then the job's settings."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for label, value in facts:
        # a name or path is plain text, not markup; a path folds after a '/', not cut with '…'
        shown = FoldedPaths(value.splitlines()) if label in PATH_FACTS else Text(value)
        table.add_row(label, shown)
    table.add_row("Settings", config_toml(config))
    return table


def config_toml(config: dict[str, Any]) -> Text | Pretty:
    """The job's snapshot of its profile as the profile file would say it (a snapshot that is
    no profile, from an old store, as it is)."""
    try:
        return Text(profile_toml(Profile.from_dict({"name": "job", **config})).rstrip())
    except (TypeError, AttributeError):
        return Pretty(config, expand_all=True)


def rate_text(job: JobSummary, moment: datetime) -> Text:
    """`12.4 rows/s · ETA 3m · elapsed 2m` while it runs; the average and the time it took
    once it has ended."""
    avg = job.rows_per_s(moment)
    took = duration(job.duration_s(moment))
    if job.status.is_final:
        return Text(f" {avg:.1f} rows/s on average · took {took}" if avg else f" took {took}")
    eta = job.eta_s(moment)
    text = Text(f" {avg:.1f} rows/s" if avg else " - rows/s")
    text.append(f" · ETA {duration(eta)}" if eta is not None else "")
    text.append(f" · elapsed {took}")
    return text
