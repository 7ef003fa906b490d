"""How `exmado jobs …` shows jobs: a job in full, as one line, and while waiting for its end
(for show, create and the actions); and `exmado jobs events | rows | files ID`: what happened
to a job, row by row and file by file."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeVar

from exmado_tui.commands.context import Context, add_job_command, print_json
from exmado_tui.formatting import duration, local_time, size, visible
from exmado_tui.job.status import JobStatus, RowStatus

if TYPE_CHECKING:  # the store's queries load peewee: a command imports them when it runs
    from exmado_tui.store.queries import EventView, FileView, RowView

PAGE = 1000
FOLLOW_POLL_S = 0.5
T = TypeVar("T")


def register(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    events = add_job_command(actions, "events", "a job's event log, oldest first", events_command)
    events.add_argument("-f", "--follow", action="store_true", help="keep printing until it ends")
    rows = add_job_command(
        actions, "rows", "a job's workbook rows and what became of each", rows_command
    )
    outcomes = [s.value for s in RowStatus]  # the values: argparse's error shows the reprs
    rows.add_argument("--status", choices=outcomes, help="only rows with this outcome")
    add_job_command(actions, "files", "the files a job wrote", files_command)


def _pages(fetch: Callable[[int], Sequence[T]]) -> Iterator[T]:
    """Every item of a paged query, PAGE at a time (a job may have 100,000 rows)."""
    offset = 0
    while page := fetch(offset):
        yield from page
        offset += len(page)


def _print_json_list(items: Iterable[dict[str, Any]]) -> None:
    """A JSON array written item by item, so a large job is not held in memory twice."""
    sys.stdout.write("[")
    for number, item in enumerate(items):
        sys.stdout.write(("," if number else "") + "\n  " + json.dumps(item, ensure_ascii=False))
    sys.stdout.write("\n]\n")


def rows_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.store.queries import job_rows

    header = f"{'ROW':>6}  {'STATUS':10} {'DOCS':>4}  {'KEY':20} ERROR"
    status = RowStatus(args.status) if args.status else None
    return _listing(args, ctx, lambda job_id, at: job_rows(job_id, status, PAGE, at), header)


def files_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.store.queries import job_files

    header = f"{'ROW':>6}  {'DOCUMENT':>10} {'SIZE':>9}  PATH"
    return _listing(args, ctx, lambda job_id, at: job_files(job_id, PAGE, at), header)


def _listing(
    args: argparse.Namespace,
    ctx: Context,
    fetch: Callable[[str, int], Sequence[RowView | FileView]],
    header: str,
) -> int:
    """A job's rows or files, a page at a time: a JSON array, or a table."""
    from exmado_tui.store.queries import RowView, get_job

    ctx.open_store()
    job = get_job(args.id)
    items = _pages(lambda offset: fetch(job.id, offset))
    if args.json:
        _print_json_list(asdict(item) for item in items)
        return 0
    print(header)
    for item in items:
        print(_row_line(item) if isinstance(item, RowView) else _file_line(item))
    return 0


def _row_line(row: RowView) -> str:
    note = row.error or (f"same key as row {row.duplicate_of}" if row.duplicate_of else "")
    return f"{row.row_number:>6}  {row.status:10} {row.documents:>4}  {row.key[:20]:20} {note}"


def _file_line(file: FileView) -> str:
    row = "-" if file.row_number is None else str(file.row_number)
    return f"{row:>6}  {file.document_id:>10} {size(file.size):>9}  {file.path}"


def events_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.store.queries import get_job

    ctx.open_store()
    job = get_job(args.id)
    if args.json and not args.follow:
        print_json([_event_json(event) for event in _events(job.id, follow=False)])
        return 0
    render: Callable[[EventView], str] = (
        (lambda e: json.dumps(_event_json(e), ensure_ascii=False))
        if args.json
        else (lambda e: _event_line(e, ctx))
    )
    for event in _events(job.id, args.follow):
        print(render(event), flush=True)
    return 0


def _events(job_id: str, follow: bool) -> Iterator[EventView]:
    """The job's events; with `follow`, new ones as they come until the job has ended."""
    from exmado_tui.store.queries import get_job, job_events

    last = 0
    while True:
        ended = get_job(job_id).status.is_final  # read first: no event after it is lost
        while page := job_events(job_id, after_id=last, limit=PAGE):
            yield from page
            last = page[-1].id
        if not follow or ended:
            return
        time.sleep(FOLLOW_POLL_S)


def _event_json(event: EventView) -> dict[str, Any]:
    return {**asdict(event), "at": event.at.isoformat(timespec="seconds") + "Z"}


def _event_line(event: EventView, ctx: Context) -> str:
    at = local_time(event.at, ctx.settings.zone, "%Y-%m-%d %H:%M:%S %Z")
    return f"{at}  {event.level:7} {event.message}"


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
        ("Duration", duration(job.duration_s(utcnow()))),
        ("Last error", job.last_error or "-"),
    ]
    for label, value in lines:
        print(f"{label + ':':12} {value}")


def print_state(job: JobDetail, as_json: bool) -> None:
    """The job as JSON, or one line: its id, state and any request still pending, or why it
    failed."""
    if as_json:
        print_json(job.to_json())
        return
    pending = f" ({job.control} requested)" if job.control and not job.status.is_final else ""
    why = f" — {job.last_error}" if job.status is JobStatus.FAILED and job.last_error else ""
    print(f"Job {job.short_id}: {job.status.value}{pending}{why}")


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

    eta = job.eta_s(utcnow())
    line = (
        f"{job.short_id} {job.status.value} {job.done_rows}/{job.total_rows} rows "
        f"({job.progress:.0%}): {job.found_rows} found, {job.not_found_rows} not found, "
        f"{job.failed_rows} failed" + (f", {duration(eta)} left" if eta else "")
    )
    width = shutil.get_terminal_size().columns - 1
    sys.stderr.write("\r\x1b[K" + line[:width])
    sys.stderr.flush()
