"""Screenshots of the main screens at 80×24 and 120×40, with the clock and the data frozen.

Regenerate after a deliberate change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the SVGs before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.screen import Screen
from textual.widgets import Input

from exmado_tui.store.db import open_database
from exmado_tui.ui.app import make_app
from exmado_tui.ui.keys import HelpScreen
from exmado_tui.ui.modals import ConfirmModal
from exmado_tui.ui.screens.detail import JobDetailScreen
from exmado_tui.ui.screens.new_job import NewJobScreen
from tests.environment import make_settings
from tests.tui.pilot_steps import FixedProbe, loaded, settled, wait_for
from tests.tui.seed import FROZEN_NOW, job_id, seed_events, seed_files, seed_jobs, seed_rows

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture
def frozen_app(tmp_path: Path, redis_url: str):
    """The app over the seeded store; paths shown on screen do not depend on tmp_path."""
    settings = make_settings(tmp_path, REDIS_URL=redis_url, EXMADO_OUTPUT_ROOT="/srv/exmado-out")
    db = open_database(settings.database_url)
    seed_jobs()
    seed_rows(job_id(0), 60, done=24)
    seed_files(job_id(0), 5)
    seed_events(job_id(0), ["Created from invoices-march.xlsx by maria (tui).", "Queued."])
    yield make_app(settings, clock=lambda: FROZEN_NOW, probe=FixedProbe())
    db.close()


async def settle(pilot, shown: type[Screen] = Screen) -> None:
    """The screen of kind `shown` up, its reads done, its cursors still (a blink would make two
    pictures of one screen)."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, shown))
    await settled(pilot)
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


async def jobs_loaded(pilot) -> None:
    await loaded(pilot)
    await wait_for(pilot, lambda: pilot.app.redis_health is not None)
    await settle(pilot)


class TestJobsScreen:
    @pytest.mark.parametrize("size", SIZES)
    def test_all_jobs(self, snap_compare, frozen_app, size):
        assert snap_compare(frozen_app, terminal_size=size, run_before=jobs_loaded)

    def test_marked_and_filtered(self, snap_compare, frozen_app):
        async def run_before(pilot):
            await jobs_loaded(pilot)
            await pilot.press("2", "space", "space")
            await wait_for(pilot, lambda: len(pilot.app.screen.table.job_ids) == 3)
            await settle(pilot)

        assert snap_compare(frozen_app, terminal_size=(80, 24), run_before=run_before)


class TestJobDetailScreen:
    @pytest.mark.parametrize("size", SIZES)
    def test_running_job(self, snap_compare, frozen_app, size):
        async def run_before(pilot):
            await jobs_loaded(pilot)
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobDetailScreen))
            detail = pilot.app.screen
            await wait_for(pilot, lambda: detail.rows_table.item_at(59) is not None)
            await wait_for(pilot, lambda: detail.files_table.item_at(4) is not None)
            await wait_for(pilot, lambda: detail.last_event_id > 0 and detail.job is not None)
            await settle(pilot)

        assert snap_compare(frozen_app, terminal_size=size, run_before=run_before)


class TestOtherScreens:
    @pytest.mark.parametrize("size", SIZES)
    def test_new_job_form(self, snap_compare, frozen_app, size):
        async def run_before(pilot):
            await jobs_loaded(pilot)
            await pilot.press("n")
            await settle(pilot, NewJobScreen)

        assert snap_compare(frozen_app, terminal_size=size, run_before=run_before)

    def test_help(self, snap_compare, frozen_app):
        async def run_before(pilot):
            await jobs_loaded(pilot)
            await pilot.press("question_mark")
            await settle(pilot, HelpScreen)

        assert snap_compare(frozen_app, terminal_size=(120, 40), run_before=run_before)

    def test_cancel_confirmation(self, snap_compare, frozen_app):
        async def run_before(pilot):
            await jobs_loaded(pilot)
            await pilot.press("down", "c")
            await settle(pilot, ConfirmModal)

        assert snap_compare(frozen_app, terminal_size=(80, 24), run_before=run_before)
