"""The read-only rule (`ui/app.py`) on the job's screen and on the way the palette
and the buttons take (`run_action`), beside the jobs list's keys (test_jobs_screen.py)."""

from __future__ import annotations

from exmado_tui.job.status import JobStatus
from exmado_tui.store.queries import get_job
from tests.tui.pilot_steps import SIZE, notices, open_detail, wait_for
from tests.tui.seed import job_id

PENDING, FAILED = job_id(2), job_id(5)
CHANGING = {"start", "pause", "resume", "cancel_job", "retry", "fail", "terminate", "delete"}


async def test_readonly_detail_offers_no_key_that_changes_something(app_factory, seeded):
    async with app_factory(readonly=True).run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, FAILED)
        offered = {entry.binding.action for entry in detail.active_bindings.values()}
        assert not offered & (CHANGING | {"verify"}), offered
        assert "back" in offered
        await pilot.press("R")
        await wait_for(pilot, lambda: any("retry is disabled" in n for n in notices(pilot.app)))
        assert get_job(FAILED).status is JobStatus.FAILED


async def test_readonly_refuses_an_action_run_as_the_palette_runs_it(app_factory, seeded):
    async with app_factory(readonly=True).run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, PENDING)
        await detail.run_action("start")  # the palette's command and a button take this way
        refusal = "Read-only dashboard: start is disabled"
        await wait_for(pilot, lambda: any(refusal in n for n in notices(pilot.app)))
        assert get_job(PENDING).queued_at is None


async def test_the_same_action_runs_when_not_readonly(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, PENDING)
        assert "start" in {entry.binding.action for entry in detail.active_bindings.values()}
        await detail.run_action("start")
        await wait_for(pilot, lambda: get_job(PENDING).queued_at is not None)
