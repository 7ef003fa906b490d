"""Problems found by using the dashboard as an office user and an operator would, at 80×24."""

from __future__ import annotations

from textual.widgets import TabbedContent

from tests.tui.conftest import wait_for
from tests.tui.seed import job_id, seed_events, seed_files, seed_rows
from tests.tui.test_other_screens import open_detail

SIZE = (80, 24)
RUNNING = job_id(0)


async def test_number_keys_switch_the_detail_tabs_from_the_rows_table(app_factory, seeded):
    """The rows table has the focus when the detail opens; 1–5 must still switch tabs (they
    used to flip back to Rows at once, because the focus stayed in the Rows pane)."""
    seed_rows(RUNNING, 10, done=5)
    seed_files(RUNNING, 3)
    seed_events(RUNNING, ["Created."])
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, RUNNING)
        tabs = detail.query_one(TabbedContent)
        await wait_for(pilot, lambda: detail.rows_table.has_focus)
        for key, pane in (("3", "events"), ("2", "files"), ("4", "config"), ("5", "report")):
            await pilot.press(key)
            await pilot.pause(0.3)
            assert tabs.active == f"{pane}-tab", (key, tabs.active)
        await pilot.press("1")
        await pilot.pause(0.3)
        assert tabs.active == "rows-tab"
        await pilot.press("3", "t")  # the row filter brings the Rows tab back
        await pilot.pause(0.3)
        assert tabs.active == "rows-tab"
        assert detail.row_filter == "done"
