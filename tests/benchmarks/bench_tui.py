"""Dashboard speed at scale: 10,000 jobs and a job with 100,000 rows.

Run: `.venv/bin/python tests/benchmarks/bench_tui.py`. Prints figures, each beside a baseline
measured in the same run (the naive way: read everything; for keys, a DataTable with every row
read so far appended, as the rows table was); nothing is asserted. Targets from the issues:
first paint < 1 s with 10,000 jobs, a refresh tick < 50 ms, every key answered within 50 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import logging  # noqa: E402

from textual import events  # noqa: E402
from textual.app import ComposeResult  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from exmado_tui.config.loading import load_settings  # noqa: E402
from exmado_tui.job.status import JobStatus  # noqa: E402
from exmado_tui.store.db import open_database  # noqa: E402
from exmado_tui.store.models import Job, JobRow  # noqa: E402
from exmado_tui.store.queries import job_rows, list_jobs, status_counts  # noqa: E402
from exmado_tui.ui.screens.detail import ROW_COLUMNS, row_cells  # noqa: E402
from exmado_tui.ui.screens.jobs import JobsQuery, read_jobs_page  # noqa: E402
from tests.tui.pilot_steps import wait_for  # noqa: E402
from tests.tui.seed import FROZEN_NOW  # noqa: E402

JOBS = 10_000
ROWS = 100_000
STATUSES = list(JobStatus)


def timed(fn: Callable[[], object], repeat: int = 10) -> float:
    """Median milliseconds of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def seed(total_jobs: int, total_rows: int) -> str:
    base = {
        "user": "bench",
        "source": "cli",
        "profile": "invoices",
        "config": {},
        "workbook_path": "/dev/null",
        "workbook_sha256": "0" * 64,
        "output_dir": "/tmp/out",
    }
    jobs = []
    for n in range(total_jobs):
        created = FROZEN_NOW - timedelta(minutes=n)
        jobs.append(
            {
                **base,
                "id": f"{n:032x}",
                "name": f"Job {n:05d}",
                "workbook_name": f"wb{n}.xlsx",
                "status": STATUSES[n % len(STATUSES)].value,
                "total_rows": 1000,
                "done_rows": n % 1000,
                "created_at": created,
                "updated_at": created,
                "started_at": created,
            }
        )
    with Job._meta.database.atomic():
        for start in range(0, len(jobs), 500):
            Job.insert_many(jobs[start : start + 500]).execute()
    big = f"{0:032x}"
    rows = (
        {"job": big, "row_number": n + 2, "key": f"K{n}", "values": {"K": n}, "status": "done"}
        for n in range(total_rows)
    )
    with Job._meta.database.atomic():
        batch: list[dict] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 1000:
                JobRow.insert_many(batch).execute()
                batch = []
        if batch:
            JobRow.insert_many(batch).execute()
    return big


APPENDED = 3_200  # what the old table held after 100 PageDowns (it appended every page read)


class AppendedRows(Screen[None]):
    """The way the rows table was: a DataTable with every row read so far appended."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in ROW_COLUMNS:
            table.add_column(label, width=width or 40, key=key)
        for row in job_rows(self.job_id, limit=APPENDED):
            table.add_row(*row_cells(row), key=str(row.row_number))
        table.focus()


async def key_latency(pilot: Pilot, key: str, presses: int) -> tuple[float, float, float]:
    """Milliseconds from a key's arrival until every widget has handled what it caused and the
    frame is drawn: median and 90th percentile of the wall clock, and the median CPU time of
    the process (all its threads), which a busy shared machine inflates less. Pilot.press would
    add its own idle waits (at least 40 ms), so this takes its inner steps instead."""
    app = pilot.app
    wall, cpu = [], []
    for _ in range(presses):
        start, start_cpu = time.perf_counter(), time.process_time()
        app.post_message(events.Key(key, None))
        await pilot._wait_for_screen()  # the app forwards the key: wait for the widget too
        await pilot._wait_for_screen()
        app.screen._on_timer_update()  # draw the frame now
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        await asyncio.sleep(0.05)  # a person's next key; page reads run meanwhile
    wall.sort()
    return statistics.median(wall), wall[int(len(wall) * 0.9)], statistics.median(cpu)


async def app_figures(settings, big: str) -> dict[str, float | tuple[float, float, float]]:
    from exmado_tui.ui.app import make_app
    from exmado_tui.ui.screens.detail import JobDetailScreen
    from exmado_tui.ui.screens.jobs import JobsScreen

    app = make_app(settings, clock=lambda: FROZEN_NOW)
    figures: dict[str, float | tuple[float, float, float]] = {}
    start = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while not (isinstance(app.screen, JobsScreen) and app.screen.loaded):
            await asyncio.sleep(0.005)
        figures["first paint, 10,000 jobs (ms)"] = (time.perf_counter() - start) * 1000
        screen = app.screen
        page = read_jobs_page(JobsQuery())
        figures["table update in place, 100 rows (ms)"] = timed(
            lambda: screen.table.show(page.jobs, {}, FROZEN_NOW, settings.zone), 20
        )
        shifted = read_jobs_page(JobsQuery(offset=1))
        figures["table update, every row shifted (ms)"] = (
            timed(
                lambda: (
                    screen.table.show(shifted.jobs, {}, FROZEN_NOW, settings.zone),
                    screen.table.show(page.jobs, {}, FROZEN_NOW, settings.zone),
                ),
                10,
            )
            / 2
        )
        detail = JobDetailScreen(big)
        app.push_screen(detail)
        await wait_for(pilot, lambda: detail.is_mounted)
        table = detail.rows_table
        while table.current is None:
            await asyncio.sleep(0.01)
        table.focus()
        await wait_for(pilot, lambda: table.has_focus)
        keys = {"x (bound to nothing)": 20, "down": 20, "pagedown": 100, "pageup": 100}
        keys |= {"end": 5, "home": 5}
        for key, presses in keys.items():
            figures[f"rows: {key}"] = await key_latency(pilot, key, presses)
        appended = AppendedRows(big)
        app.push_screen(appended)  # its rows are appended and its table focused on mounting
        await wait_for(pilot, lambda: appended.is_mounted)
        for key in ("pagedown", "pageup"):
            figures[f"baseline: {key}, {APPENDED:,} rows appended"] = await key_latency(
                pilot, key, 100
            )
    return figures


def main() -> None:
    logging.disable(logging.WARNING)  # the DocuWare probe's "connect failed" lines
    folder = Path(tempfile.mkdtemp(prefix="exmado-bench-"))
    settings = (
        load_settings(
            environ={
                "EXMADO_DATA_DIR": str(folder / "data"),
                "EXMADO_OUTPUT_ROOT": str(folder / "out"),
                "EXMADO_DROP_FOLDER": str(folder / "drop"),
                "REDIS_URL": "redis://127.0.0.1:1/0",
                "DOCUWARE_URL": "http://127.0.0.1:9",
                "EXMADO_CONFIG": str(folder / "none.toml"),
            }
            | {
                "EXMADO_PROFILES_DIR": str(REPO / "config" / "profiles"),
                "EXMADO_USER_PROFILES_DIR": str(folder / "user-profiles"),
            }
        )
        if ((folder / "none.toml").write_text("") or True)
        else None
    )
    open_database(settings.database_url)
    start = time.perf_counter()
    big = seed(JOBS, ROWS)
    print(f"seeded {JOBS:,} jobs and a job of {ROWS:,} rows in {time.perf_counter() - start:.1f} s")

    naive = timed(lambda: (list_jobs(), status_counts()), 5)
    tick = timed(lambda: read_jobs_page(JobsQuery()), 20)
    by_name = timed(lambda: read_jobs_page(JobsQuery(sort="name")), 20)
    text = timed(lambda: read_jobs_page(JobsQuery(text="042")), 20)
    active = timed(lambda: read_jobs_page(JobsQuery(statuses=(JobStatus.RUNNING,))), 20)
    print("\njobs list refresh tick (median ms)")
    print(f"  baseline: every job + counts (naive)  {naive:8.1f}")
    print(f"  page of 100 + total + counts          {tick:8.1f}   ({naive / tick:.0f}× less)")
    print(f"    sorted by name                      {by_name:8.1f}")
    print(f"    text filter '042'                   {text:8.1f}")
    print(f"    status filter RUNNING               {active:8.1f}")

    all_rows = timed(lambda: job_rows(big, limit=ROWS), 3)
    first = timed(lambda: job_rows(big, limit=200), 20)
    deep = timed(lambda: job_rows(big, limit=200, offset=ROWS - 200), 20)
    print(f"\nrows of a {ROWS:,}-row job (median ms)")
    print(f"  baseline: all rows at once            {all_rows:8.1f}")
    print(f"  first page of 200                     {first:8.1f}   ({all_rows / first:.0f}× less)")
    print(f"  last page of 200 (OFFSET {ROWS - 200:,})    {deep:8.1f}")

    print("\nin the app (headless, 120×40)")
    print(f"  {'key latency, handled and drawn (ms)':42} {'median':>8} {'p90':>8} {'CPU':>8}")
    for label, value in asyncio.run(app_figures(settings, big)).items():
        shown = f"{value:8.1f}" if isinstance(value, float) else "".join(f"{v:9.1f}" for v in value)
        print(f"  {label:42} {shown}")


if __name__ == "__main__":
    main()
