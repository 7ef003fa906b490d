"""The footer holds the keys a person needs most, as many as the terminal's width allows."""

from __future__ import annotations

from textual.binding import Binding

from exmado_tui.ui.keys import kept_in_width
from tests.tui.pilot_steps import SIZE, bottom_line, loaded, open_detail, wait_for

EVERY_JOBS_KEY = (
    "⏎ Open",
    "n New",
    "s Start",
    "R Retry",
    "d Delete",
    "w Workers",
    "f Drop folder",
    "o Sort",
    "? Help",
    "q Quit",
)


def test_the_least_needed_keys_go_first_and_the_rest_keep_their_order():
    keys = [
        ((Binding(k, action, action), True, ""), f"{k}{action}  ")
        for k, action in (("a", "first"), ("b", "second"), ("c", "third"), ("d", "unranked"))
    ]
    kept = kept_in_width(keys, ("third", "first", "second"), width=16)
    assert [binding.action for binding, _, _ in kept] == ["first", "third"]


async def test_a_wide_terminal_shows_every_key_of_the_jobs_list(app_factory, seeded):
    async with app_factory().run_test(size=(200, 24)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: all(key in bottom_line(pilot.app) for key in EVERY_JOBS_KEY))


async def test_80_columns_keep_open_workers_help_and_quit_whole(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        await loaded(pilot)
        whole = " ⏎ Open n New s Start p Pause r Resume c Cancel w Workers / Filter ? Help q Quit"
        await wait_for(pilot, lambda: bottom_line(pilot.app) == whole)


async def test_80_columns_show_an_ended_jobs_verify_key(app_factory, seeded):
    """`v` has no button: at 80 columns Start (a button when it applies) makes room for it."""
    async with app_factory().run_test(size=SIZE) as pilot:
        await open_detail(pilot, seeded[3])  # COMPLETED
        whole = " esc Back p Pause r Resume c Cancel R Retry d Delete v Verify ? Help q Quit"
        await wait_for(pilot, lambda: bottom_line(pilot.app).rstrip() == whole)


async def test_read_only_shows_no_key_that_changes_something(app_factory, seeded):
    async with app_factory(readonly=True).run_test(size=(200, 24)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: "⏎ Open" in bottom_line(pilot.app))
        line = bottom_line(pilot.app)
        assert "w Workers" in line
        assert not any(key in line for key in ("R Retry", "d Delete", "s Start", "n New"))
