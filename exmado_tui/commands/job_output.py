"""How `exmado jobs …` shows a job: in full, as one line, and while waiting for its end."""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING

from exmado_tui.commands.context import Context, print_json
from exmado_tui.formatting import duration, local_time, visible
from exmado_tui.job import pace

if TYPE_CHECKING:  # the store's queries load peewee: a command imports them when it runs
    from exmado_tui.store.queries import JobDetail


WITH_ZONE = "%Y-%m-%d %H:%M %Z"  # each time names its zone: CST, or CDT in summer


def print_job(job: JobDetail, as_json: bool, ctx: Context) -> None:
    if as_json:
        from exmado_tui.store.queries import row_counts

        print_json({**job.to_json(), "row_counts": row_counts(job.id)})
        return
    from exmado_tui.store.db import utcnow

    zone = ctx.settings.zone
    lines = [
        ("Job", f"{job.id}  ({job.name})"),
        ("Status", job.status.value + (f"  [{job.control} requested]" if job.control else "")),
        ("Waiting", job.wait_reason or "-"),
        (
            "Rows",
            f"{job.done_rows}/{job.total_rows} done ({job.progress:.0%}): "
            f"{job.found_rows} found, {job.not_found_rows} not found, "
            f"{job.ambiguous_rows} ambiguous, {job.failed_rows} failed, "
            f"{job.skipped_rows} skipped",
        ),
        ("Files", f"{job.files_count} in {job.output_dir}"),
        (
            "Query" if job.from_query else "Workbook",
            f"{job.workbook_name}  sha256 {job.workbook_sha256[:16]}…",
        ),
        ("Profile", job.profile or "-"),
        ("By", f"{job.user} via {job.source}"),
        ("Created by", visible(job.created_by) or "-"),
        ("Started by", visible(job.started_by) or "-"),
        ("Created", local_time(job.created_at, zone, WITH_ZONE)),
        ("Started", local_time(job.started_at, zone, WITH_ZONE)),
        ("Finished", local_time(job.finished_at, zone, WITH_ZONE)),
        ("Duration", duration(pace.duration_s(job, utcnow()))),
        ("Last error", job.last_error or "-"),
    ]
    for label, value in lines:
        print(f"{label + ':':12} {value}")


def print_state(job: JobDetail, as_json: bool) -> None:
    """The job as JSON, or one line: its id, state and any request still pending."""
    if as_json:
        print_json(job.to_json())
        return
    pending = f" ({job.control} requested)" if job.control and not job.status.is_final else ""
    print(f"Job {job.short_id}: {job.status.value}{pending}")


def wait_for_end(ctx: Context, job_id: str, timeout: float | None) -> JobDetail:
    """Wait for the job; on a terminal, one line of progress on stderr, cleared at the end."""
    if not sys.stderr.isatty():
        return ctx.service.wait(job_id, timeout)
    try:
        return ctx.service.wait(job_id, timeout, progress=_show_progress)
    finally:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


def _show_progress(job: JobDetail) -> None:
    from exmado_tui.store.db import utcnow

    eta = pace.eta_s(job, utcnow())
    line = (
        f"{job.short_id} {job.status.value} {job.done_rows}/{job.total_rows} rows "
        f"({job.progress:.0%}): {job.found_rows} found, {job.not_found_rows} not found, "
        f"{job.failed_rows} failed" + (f", {duration(eta)} left" if eta else "")
    )
    width = shutil.get_terminal_size().columns - 1
    sys.stderr.write("\r\x1b[K" + line[:width])
    sys.stderr.flush()
