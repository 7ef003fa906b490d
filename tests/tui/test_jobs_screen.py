"""The jobs list, driven by keys at 80×24 against a real store and a real Redis."""

from __future__ import annotations

import re
from datetime import timedelta

from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.store.models import Job, JobEvent
from exmado_tui.store.queries import get_job
from exmado_tui.ui.app import make_app
from exmado_tui.ui.modals import ConfirmModal, DeleteJobModal
from exmado_tui.ui.screens.jobs import JobsScreen
from tests.job_queue import queue_length
from tests.tui.pilot_steps import (
    SIZE,
    FixedProbe,
    loaded,
    notices,
    put_cursor_on,
    screen_text,
    settled,
    wait_for,
)
from tests.tui.seed import FROZEN_NOW, job_id, make_job

S = JobStatus
RUNNING, PAUSED, PENDING, COMPLETED, WITH_ERRORS, FAILED, CANCELLED = (job_id(i) for i in range(7))


async def test_lists_every_job_newest_first(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        assert screen.table.job_ids == [
            PENDING,
            RUNNING,
            PAUSED,
            COMPLETED,
            WITH_ERRORS,
            FAILED,
            CANCELLED,
        ]
        status_cell = screen.table.get_cell("r1", "status")
        assert str(status_cell) == "▶ running"
        assert str(screen.table.get_cell("r1", "rows")) == "480/1200"
        assert "40%" in str(screen.table.get_cell("r1", "progress"))
        assert "1–7 of 7" in str(screen.status_line.render())
        assert str(screen.table.columns["started"].label) == "Started CST"  # TZ of the tests


async def test_number_keys_filter_by_status(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("4")
        await wait_for(pilot, lambda: screen.table.job_ids == [RUNNING])
        await pilot.press("2")
        await wait_for(pilot, lambda: set(screen.table.job_ids) == {RUNNING, PAUSED, PENDING})
        await pilot.press("8")
        await wait_for(pilot, lambda: screen.table.job_ids == [FAILED])
        await pilot.press("1")
        await wait_for(pilot, lambda: len(screen.table.job_ids) == 7)


async def test_slash_filters_by_text_and_escape_clears(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("slash", *"contr", "enter")
        await wait_for(pilot, lambda: screen.table.job_ids == [PAUSED])
        assert screen.table.has_focus
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(screen.table.job_ids) == 7)


async def test_o_cycles_the_sort_and_shift_o_reverses_it(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("o")  # started, newest first; never-started jobs last
        await wait_for(pilot, lambda: screen.query_state.sort == "started")
        await wait_for(pilot, lambda: screen.table.job_ids[0] == RUNNING)
        await pilot.press("o")  # name
        await pilot.press("O")  # name, A→Z
        await wait_for(pilot, lambda: screen.table.job_ids[:2] == [PAUSED, WITH_ERRORS])
        assert "sort name ↑" in str(screen.status_line.render())


async def test_start_queues_a_pending_job(app_factory, seeded, redis_url):
    async with app_factory().run_test(size=SIZE) as pilot:
        await put_cursor_on(pilot, PENDING)
        await pilot.press("s")
        await wait_for(pilot, lambda: get_job(PENDING).queued_at is not None)
        assert queue_length(redis_url) == 1
        await wait_for(pilot, lambda: any("1 job queued" in n for n in notices(pilot.app)))


async def test_pause_asks_the_worker_of_a_running_job(app_factory, seeded):
    Job.update(worker="host-a:4242").where(Job.id == RUNNING).execute()  # a worker holds it
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await put_cursor_on(pilot, RUNNING)
        await pilot.press("p")
        await wait_for(pilot, lambda: get_job(RUNNING).control == "pause")
        await wait_for(pilot, lambda: str(screen.table.get_cell("r1", "status")) == "▶ pausing…")
    asked = JobEvent.select().where(JobEvent.job == RUNNING).order_by(JobEvent.id.desc()).get()
    assert asked.message.startswith("Pause requested by ")  # who, from where, and the door:
    assert asked.message.endswith(" (dashboard).")  # what the events tab shows


async def test_resume_puts_a_paused_job_back_to_work(app_factory, seeded, redis_url):
    async with app_factory().run_test(size=SIZE) as pilot:
        await put_cursor_on(pilot, PAUSED)
        await pilot.press("r")
        await wait_for(pilot, lambda: get_job(PAUSED).status is S.RUNNING)
        assert queue_length(redis_url) == 1


async def test_cancel_asks_first_and_no_leaves_the_job_alone(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        await put_cursor_on(pilot, PAUSED)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        assert get_job(PAUSED).status is S.PAUSED
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: get_job(PAUSED).status is S.CANCELLED)


async def test_found_not_found_and_failed_show_at_80_columns(app_factory, seeded):
    """Credit notes: 60 found, 12 not found, 8 failed; a 100,000-row job's counts fit too."""
    make_job(7, "Big one", S.RUNNING, total=100_000, done=99_999, found=99_000, not_found=999)
    async with app_factory().run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.pause()
        lines = screen_text(pilot.app).splitlines()
        header = next(line for line in lines if " ID " in line)
        assert "Found·Miss·Fail" in header
        credit = next(line for line in lines if "Credit notes" in line)
        assert re.search(r" 60· +12· +8\b", credit), credit
        big = next(line for line in lines if "Big one" in line)
        assert re.search(r" 99k· 999· +0\b", big), big


async def test_retry_queues_a_failed_job_again(app_factory, seeded, redis_url):
    async with app_factory().run_test(size=SIZE) as pilot:
        await put_cursor_on(pilot, FAILED)
        await pilot.press("R")
        await wait_for(pilot, lambda: get_job(FAILED).status is S.PENDING)
        assert queue_length(redis_url) == 1


async def test_fail_records_the_reason(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        await put_cursor_on(pilot, PAUSED)
        await pilot.press("F")
        await pilot.press(*"stuck", "enter")
        await wait_for(pilot, lambda: get_job(PAUSED).status is S.FAILED)
        assert "stuck" in get_job(PAUSED).last_error


async def test_terminate_asks_then_cancels_a_running_job_at_once(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        await put_cursor_on(pilot, RUNNING)
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: get_job(RUNNING).status is S.CANCELLED)
        assert get_job(RUNNING).control == "terminate"


async def test_delete_keeping_files(app_factory, seeded, tmp_path):
    output = tmp_path / "kept"
    output.mkdir()
    Job.update(output_dir=str(output)).where(Job.id == COMPLETED).execute()
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await put_cursor_on(pilot, COMPLETED)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteJobModal))
        await pilot.press("k")
        await wait_for(pilot, lambda: not Job.select().where(Job.id == COMPLETED).exists())
        await wait_for(pilot, lambda: COMPLETED not in screen.table.job_ids)
    assert output.is_dir()


async def test_refused_action_says_why(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        await put_cursor_on(pilot, COMPLETED)
        await pilot.press("s")
        await wait_for(pilot, lambda: any("only a PENDING job" in n for n in notices(pilot.app)))
        assert get_job(COMPLETED).status is S.COMPLETED


async def test_a_start_with_redis_down_says_how_to_bring_it_up(store, seeded):
    """The same sentence as the CLI's, fix included (this test asked for no Redis)."""
    async with make_app(store, probe=FixedProbe()).run_test(size=SIZE) as pilot:
        await put_cursor_on(pilot, PENDING)
        await pilot.press("s")
        await wait_for(pilot, lambda: any("Cannot reach Redis" in n for n in notices(pilot.app)))
        assert "start it with `exmado up`" in notices(pilot.app)[-1]


async def test_space_marks_jobs_for_a_bulk_cancel(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await put_cursor_on(pilot, PENDING)
        await pilot.press("space")  # marks PENDING, moves down to RUNNING
        await pilot.press("down", "space")  # skips RUNNING, marks PAUSED, moves on
        await pilot.press("space")  # marks COMPLETED, where cancel does not apply
        assert set(screen.marked) == {PENDING, PAUSED, COMPLETED}
        assert str(screen.table.get_cell("r0", "mark")) == "●"
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal))
        assert "2 jobs" in pilot.app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: get_job(PAUSED).status is S.CANCELLED)
        assert get_job(PENDING).status is S.CANCELLED
        assert get_job(RUNNING).status is S.RUNNING
        assert get_job(COMPLETED).status is S.COMPLETED
        await wait_for(pilot, lambda: not screen.marked)


async def test_readonly_refuses_every_action_with_a_notice(app_factory, seeded):
    async with app_factory(readonly=True).run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await put_cursor_on(pilot, PENDING)
        for key in ("s", "c", "d", "F", "n"):
            await pilot.press(key)
        await wait_for(pilot, lambda: sum("Read-only" in n for n in notices(pilot.app)) == 5)
        await settled(pilot)
        assert isinstance(pilot.app.screen, JobsScreen)
        assert get_job(PENDING).status is S.PENDING
        assert get_job(PENDING).queued_at is None
        assert sum("Read-only" in n for n in notices(pilot.app)) == 5
        shown = {b.binding.action for b in screen.active_bindings.values() if b.binding.show}
        assert not shown & {"start", "pause", "resume", "cancel_job", "new_job"}
        assert "READ-ONLY" in str(screen.query_one("HealthStrip").render())


async def test_cursor_stays_on_its_job_when_a_new_job_arrives(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await put_cursor_on(pilot, FAILED)
        before = screen.table.cursor_row
        make_job(20, "Brand new", S.PENDING, now=FROZEN_NOW + timedelta(hours=1))
        await wait_for(pilot, lambda: len(screen.table.job_ids) == 8, timeout=4)
        assert screen.table.current_job_id == FAILED
        assert screen.table.cursor_row == before + 1


async def test_live_refresh_updates_cells_in_place(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        Job.update(done_rows=900, found_rows=870).where(Job.id == RUNNING).execute()
        await wait_for(pilot, lambda: str(screen.table.get_cell("r1", "rows")) == "900/1200")
        assert "75%" in str(screen.table.get_cell("r1", "progress"))


async def test_notifies_when_a_job_finishes(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: pilot.app._finished_mark is not None)  # the first look
        # only sets the watermark: a job finished after it is announced
        transition(RUNNING, S.COMPLETED_WITH_ERRORS)
        JobEvent.create(job=RUNNING, message="done")
        await wait_for(
            pilot,
            lambda: any(
                "01c0ffee (Invoices March) completed with errors" in n for n in notices(pilot.app)
            ),
            timeout=4,
        )
        assert not any("Suppliers Q1" in n for n in notices(pilot.app))  # finished before


async def test_pages_of_a_hundred(app_factory, store):
    for n in range(130):
        make_job(n, f"Job {n:03d}", S.COMPLETED)
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        assert len(screen.table.job_ids) == 100
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: len(screen.table.job_ids) == 30)
        assert "101–130 of 130" in str(screen.status_line.render())
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: len(screen.table.job_ids) == 100)
