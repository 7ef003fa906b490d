"""Job detail, workers, drop folder, help and the command palette."""

from __future__ import annotations

import io
from datetime import timedelta

from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Static

from exmado_tui.formatting import local_time
from exmado_tui.job.status import JobStatus
from exmado_tui.services.queue import JobQueue
from exmado_tui.services.worker_facts import read_worker_facts
from exmado_tui.store.models import Job, JobRow
from exmado_tui.store.queries import get_job, row_total
from exmado_tui.ui.app import on_view
from exmado_tui.ui.keys import HelpScreen
from exmado_tui.ui.modals import ConfirmModal, RefusalModal, RowModal
from exmado_tui.ui.screens.detail import JobDetailScreen
from exmado_tui.ui.screens.dropfolder import DropFolderScreen
from exmado_tui.ui.screens.jobs import JobsScreen
from exmado_tui.ui.screens.workers import WorkersScreen
from tests.job_queue import queue_length
from tests.tui.pilot_steps import SIZE, open_detail, open_screen, screen_text, wait_for
from tests.tui.seed import (
    FROZEN_NOW,
    job_id,
    seed_events,
    seed_files,
    seed_refused,
    seed_rows,
    seed_worker,
)

RUNNING, PAUSED = job_id(0), job_id(1)


async def test_detail_pages_rows_and_opens_one(app_factory, seeded):
    seed_rows(RUNNING, 1200, done=480)
    seed_files(RUNNING, 20)
    seed_events(RUNNING, ["Created.", "Queued for the workers.", "Validated 1200 rows."])
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, RUNNING)
        rows = detail.rows_table
        await wait_for(pilot, lambda: rows.current is not None)
        assert rows.row_count == 1200
        assert "480/1200 rows" in str(detail.summary.render())
        await wait_for(pilot, lambda: rows.has_focus)
        await pilot.press("ctrl+end")  # to the last row: its page is read
        await wait_for(pilot, lambda: rows.current is not None)
        assert rows.current.row_number == 1201
        # Row 5 is the fourth row; every seventh row was not found.
        await pilot.press("ctrl+home", "down", "down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RowModal))
        modal = pilot.app.screen
        assert modal.row.row_number == 5 and modal.row.status == "not_found"
        await pilot.press("escape")
        await pilot.press("t")  # row filter: done
        await wait_for(pilot, lambda: rows.row_count == row_total(RUNNING, "done"))
        await wait_for(pilot, lambda: rows.item_at(0) is not None)
        assert {rows.item_at(i).status for i in range(rows.visible_rows)} == {"done"}
        await pilot.press("3")  # events tab
        await wait_for(pilot, lambda: detail.last_event_id > 0)
        assert len(detail.events_log.lines) == 3
        await pilot.press("2")
        await wait_for(pilot, lambda: detail.files_table.row_count == 20)


async def test_a_rows_long_error_is_readable_in_full_in_its_modal(app_factory, seeded):
    seed_rows(RUNNING, 30, done=10)
    error = " ".join(f"word{n}" for n in range(60)) + " (the end)."  # ~400 characters
    JobRow.update(error=error).where((JobRow.job == RUNNING) & (JobRow.row_number == 5)).execute()
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, RUNNING)
        await wait_for(pilot, lambda: detail.rows_table.has_focus and detail.rows_table.current)
        await pilot.press("down", "down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RowModal))
        await pilot.pause()
        inside = [line.strip("█ ") for line in screen_text(pilot.app).splitlines()]  # the frame
        assert f"Error: {error}" in " ".join(inside)


def shown_rows(app) -> list[int]:
    """The row numbers the rows table shows, top to bottom."""
    lines = [line.split() for line in screen_text(app).splitlines()]
    return [int(words[0]) for words in lines if len(words) > 1 and words[1].startswith("INV-")]


async def test_paging_a_long_job_shows_the_right_rows_at_once(app_factory, seeded):
    """PageDown, PageUp, End and Home move the cursor and the rows shown by a screen, also
    past the rows read so far; a page not read yet is read, not appended row by row."""
    seed_rows(RUNNING, 5000, done=480)
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, RUNNING)
        rows = detail.rows_table
        await wait_for(pilot, lambda: rows.has_focus and rows.current is not None)
        await pilot.pause()
        first = shown_rows(pilot.app)
        screenful = len(first)
        assert first == list(range(2, 2 + screenful)) and screenful == rows.visible_rows
        for _ in range(30):  # past the first page of 200 rows
            await pilot.press("pagedown")
        expected = list(range(2 + 30 * screenful, 2 + 31 * screenful))
        await wait_for(pilot, lambda: shown_rows(pilot.app) == expected)
        assert rows.current.row_number == expected[0]
        await pilot.press("pageup")
        await wait_for(pilot, lambda: shown_rows(pilot.app) == [n - screenful for n in expected])
        await pilot.press("end")
        await wait_for(pilot, lambda: shown_rows(pilot.app)[-1:] == [5001])
        assert len(shown_rows(pilot.app)) == screenful and rows.current.row_number == 5001
        await pilot.press("home")
        await wait_for(pilot, lambda: shown_rows(pilot.app) == first)
        assert rows.current.row_number == 2
        await pilot.press("pageup")  # at the top: nothing moves
        await pilot.pause()
        assert shown_rows(pilot.app) == first and rows.cursor_row == 0


async def test_the_files_tab_names_the_row_each_file_came_from(app_factory, seeded):
    seed_rows(RUNNING, 30, done=10)
    seed_files(RUNNING, 3)  # rows 2, 3 and 4 found documents 1002, 1003 and 1004
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, RUNNING)
        await pilot.press("2")
        await wait_for(pilot, lambda: detail.files_table.item_at(2) is not None)
        await pilot.pause()
        shown = [line.split()[:2] for line in screen_text(pilot.app).splitlines() if "ACME" in line]
        assert shown == [["2", "1002"], ["3", "1003"], ["4", "1004"]]


async def test_the_sparkline_shows_rows_per_second_between_refreshes(app_factory, seeded):
    now = [FROZEN_NOW]
    async with app_factory(clock=lambda: now[0]).run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, RUNNING)
        # No refresh in flight: one that read the job before the update and the clock after
        # it would learn 0 rows in 10 s (seen under load). Nothing runs between these lines.
        await wait_for(pilot, lambda: len(detail.samples) == 1 and not detail._loading)
        Job.update(done_rows=Job.done_rows + 50).where(Job.id == RUNNING).execute()
        now[0] = FROZEN_NOW + timedelta(seconds=10)
        detail.refresh_job()
        await wait_for(pilot, lambda: len(detail.samples) == 2)
        (t0, rows0), (t1, rows1) = detail.samples
        assert (t1 - t0, rows1 - rows0) == (10, 50)
        assert str(detail.sparkline.render()).strip() == "█"  # the one rate, 5 rows/s, at full


async def test_a_finished_job_shows_its_average_and_its_sparkline_stops(app_factory, seeded):
    now = [FROZEN_NOW]
    completed = job_id(3)  # 500 rows in 42 minutes
    async with app_factory(clock=lambda: now[0]).run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, completed)
        await wait_for(pilot, lambda: "on average" in str(detail.rate_label.render()))
        assert str(detail.rate_label.render()) == " 0.2 rows/s on average · took 42m00s"
        now[0] = FROZEN_NOW + timedelta(seconds=10)
        detail.refresh_job()
        await wait_for(pilot, lambda: not detail._loading)
        assert not detail.samples and not str(detail.sparkline.render()).strip()


async def test_detail_actions_and_tailing_events(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, PAUSED)
        assert detail.query_one("#do-resume").display
        assert not detail.query_one("#do-pause").display
        await pilot.press("r")
        await wait_for(pilot, lambda: get_job(PAUSED).status is JobStatus.RUNNING)
        await wait_for(pilot, lambda: detail.job.status is JobStatus.RUNNING)
        await pilot.press("3")
        await wait_for(
            pilot, lambda: any("Resumed" in str(line.text) for line in detail.events_log.lines)
        )
        await pilot.press("c", "y")  # resumed, no worker holds it yet: cancelled at once
        await wait_for(pilot, lambda: get_job(PAUSED).status is JobStatus.CANCELLED)


def config_text(detail: JobDetailScreen) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(detail.query_one("#config", Static).content)
    return console.export_text()


async def test_the_config_tab_follows_a_retry(app_factory, seeded):
    failed = job_id(5)
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, failed)
        await pilot.press("4")
        finished = local_time(get_job(failed).finished_at, pilot.app.settings.zone)
        assert f"Finished  {finished}" in config_text(detail)
        assert "Zone      America/Tegucigalpa" in config_text(detail)  # the times' zone, said
        assert 'cabinet = "Invoices"' in config_text(detail)  # the profile, as its file says it
        assert "[templates]" in config_text(detail) and "{'" not in config_text(detail)
        await pilot.press("R")
        await wait_for(pilot, lambda: get_job(failed).status is JobStatus.PENDING, timeout=15)
        Job.update(runs=Job.runs + 1).where(Job.id == failed).execute()  # a worker took it
        await wait_for(pilot, lambda: "Runs      1" in config_text(detail), timeout=15)
        assert "Finished  -" in config_text(detail)


async def test_workers_screen_shows_redis_and_purges_the_queue(
    app_factory, seeded, redis_url, store
):
    Job.update(worker="host-a:4242", heartbeat_at=Job.started_at).where(Job.id == RUNNING).execute()
    queue = JobQueue.from_settings(store.broker)
    queue.enqueue_run(PAUSED)
    seed_worker(redis_url, "host-a", [RUNNING], pid=4242, threads=3)
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot, "w", WorkersScreen)
        # the jobs `exmado workers` lists: held, then the paused one no worker holds
        await wait_for(pilot, lambda: screen.workers_table.row_count == 2)
        assert str(screen.workers_table.get_row_at(0)[0]) == "host-a:4242"
        assert str(screen.workers_table.get_row_at(1)[0]) == "-"
        await wait_for(pilot, lambda: screen.alive_table.row_count == 1)
        host, pid, _up, seen, threads, jobs = map(str, screen.alive_table.get_row_at(0))
        assert (host, pid, seen, threads, jobs) == ("host-a", "4242", "-", "3", RUNNING[:8])
        # what `exmado workers --json` lists, no more, no less
        facts = read_worker_facts(queue).as_json()
        assert [str(key.value) for key in screen.workers_table.rows] == [
            job["id"] for job in sorted(facts["jobs"], key=lambda j: (j["worker"] or "~", j["id"]))
        ]
        assert [str(key.value) for key in screen.alive_table.rows] == [
            worker["id"] for worker in facts["workers"]
        ]
        await wait_for(pilot, lambda: "version" in screen.redis_info)
        assert screen.redis_info["version"].count(".") == 2
        assert screen.redis_health.depth.ready == 1
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: queue_length(redis_url) == 0)
        assert "unreachable" in str(screen.docuware_facts.render())


async def test_dropfolder_screen_lists_jobs_and_refusals(app_factory, store, seeded):
    drop = store.dropfolder.path
    seed_refused(drop, "old.xls", "Workbook old.xls is in the old Excel 97–2003 format.")
    (drop / "invoices").mkdir()
    (drop / "invoices" / "april.xlsx").write_bytes(b"PK")
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot, "f", DropFolderScreen)
        await wait_for(pilot, lambda: screen.rejected_table.row_count == 1)
        assert "97–2003" in str(screen.rejected_table.get_row_at(0)[2])
        table = screen.jobs_table
        shown = {str(table.get_row_at(i)[1]) for i in range(table.row_count)}
        assert shown == {"personnel-hr.xlsx", "old-archive.xlsx"}  # the seed's drop-folder jobs
        assert str(screen.waiting_table.get_row_at(0)[1]) == "april.xlsx"


async def test_a_refusal_shows_whole_and_a_lock_file_does_not_wait(app_factory, store, seeded):
    drop = store.dropfolder.path
    reason = "Workbook long.xlsx: " + "a reason longer than any terminal is wide, " * 6 + "end."
    seed_refused(drop, "long.xlsx", reason)
    (drop / "invoices").mkdir()
    (drop / "invoices" / "~$april.xlsx").write_bytes(b"lock")  # Excel's, skipped by the watcher
    (drop / "invoices" / ".april.xlsx").write_bytes(b"PK")  # hidden, skipped too
    (drop / "invoices" / "april.xlsx").write_bytes(b"PK")
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot, "f", DropFolderScreen)
        await wait_for(pilot, lambda: screen.rejected_table.row_count == 1)
        waiting = [str(screen.waiting_table.get_row_at(i)[1]) for i in range(1)]
        assert waiting == ["april.xlsx"] and screen.waiting_table.row_count == 1
        screen.rejected_table.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RefusalModal))
        assert str(pilot.app.screen.query_one("#refusal-reason").render()) == reason
        assert "end." in screen_text(pilot.app)  # wrapped within the screen, not cut
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is screen)


async def test_dropfolder_screen_names_only_profile_folders(app_factory, store, seeded):
    """archive/, rejected/, a folder no profile is named after and loose files are not
    profile folders, and a workbook in a stray folder is not waiting for a job."""
    drop = store.dropfolder.path
    for folder in ("invoices", "archive", "rejected", "old-stuff", ".sync"):
        (drop / folder).mkdir(parents=True)
    (drop / "notes.txt").write_text("x")
    (drop / "old-stuff" / "may.xlsx").write_bytes(b"PK")
    (drop / "invoices" / "april.xlsx").write_bytes(b"PK")
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot, "f", DropFolderScreen)
        await wait_for(pilot, lambda: screen.waiting_table.row_count > 0)
        assert str(screen.folder_label.render()).endswith("Profile folders: invoices")
        waiting = [str(screen.waiting_table.get_row_at(0)[1])]
        assert waiting == ["april.xlsx"] and screen.waiting_table.row_count == 1


async def test_help_lists_every_screen_and_the_palette_every_action(app_factory, seeded):
    async with app_factory().run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        console = Console(width=100, record=True, file=io.StringIO())
        for table in pilot.app.screen.tables:
            console.print(table)
        text = console.export_text()
        for words in (
            "Jobs list",
            "Job detail",
            "New job",
            "New job from a search",
            "Add condition",
            "Workers",
            "Drop folder",
            "Retry",
            "Purge queue",
        ):
            assert words in text, words
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
        await pilot.press(*"retry")
        options = pilot.app.screen.query_one("CommandList")

        def prompts() -> list[str]:
            return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

        await wait_for(pilot, lambda: any("Retry" in p for p in prompts()))


async def test_a_screen_is_not_on_view_once_the_app_closes(app_factory, seeded):
    """A read ending while the app closes must not touch the screen's widgets: they are being
    removed while the screen is still current (the Workers screen once failed so in CI)."""
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot, "w", WorkersScreen)
        assert on_view(screen)
        pilot.app.exit()
        assert screen.is_current and not on_view(screen)
