"""Driving the dashboard in its tests: a DocuWare health that needs no network, waiting for
the app, reading what the terminal shows, and the steps a user takes through it (put the
cursor on a job, open its detail, fill the new-job form).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from textual.dom import NoScreen
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Select
from textual.worker import Worker

from exmado_tui.ui.app import ExmadoApp
from exmado_tui.ui.backend import DocuWareHealth
from exmado_tui.ui.screens.detail import JobDetailScreen
from exmado_tui.ui.screens.jobs import JobsScreen
from exmado_tui.ui.screens.new_job import NewJobScreen

SIZE = (80, 24)  # the smallest terminal the dashboard is made for
ScreenT = TypeVar("ScreenT", bound=Screen)


class FixedProbe:
    """DocuWare health without the network: the health strip is a boundary for these tests."""

    def __init__(self, reachable: bool = False) -> None:
        self.health = DocuWareHealth(reachable, "7.10" if reachable else "", "sandbox off")

    def check(self, force: bool = False) -> DocuWareHealth:
        return self.health


async def wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Let the app run until `condition()` holds; fail the test after `timeout` seconds, naming
    the condition as the test wrote it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"still false after {timeout} s: {written(condition)}")
        await pilot.pause(0.05)  # the poll's step, not a guess at how long the app needs


def written(condition: Callable[[], object]) -> str:
    """The source line(s) of a condition, for a failure message a reader can place."""
    try:
        return " ".join(inspect.getsource(condition).split())
    except (OSError, TypeError):
        return repr(condition)


async def settled(pilot: Pilot, timeout: float = 5.0) -> None:
    """Let the app finish what it started: every worker of the app and of the screen shown done
    (an action that should have been refused but ran would show by then), and the messages
    that followed handled. A screen underneath may wait on the one shown (a question's answer)."""
    await wait_for(pilot, lambda: not busy_workers(pilot.app), timeout)
    await pilot.pause()


def busy_workers(app: ExmadoApp) -> list[Worker[object]]:
    return [w for w in app.workers if not w.is_finished and works_for(w, app.screen)]


def works_for(worker: Worker[object], shown: Screen) -> bool:
    """The worker is the app's (the app's screen is the one shown) or the shown screen's."""
    try:
        return worker.node.screen is shown
    except NoScreen:  # its widget was just removed: its worker is cancelled with it
        return False


async def steady(pilot: Pilot, condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait for `condition`, let the app settle, and check it still holds: a state the app flips
    straight back fails here, as it would have after a fixed pause."""
    await wait_for(pilot, condition, timeout)
    await settled(pilot, timeout)
    assert condition(), f"true, then false once the app settled: {written(condition)}"


def dialog_drawn(app: ExmadoApp) -> bool:
    """The open dialog has its place on screen (its text can be read from the terminal)."""
    return bool(app.screen.query(".dialog") and app.screen.query_one(".dialog").region.area)


# -- what the terminal shows ----------------------------------------------------------------------


def screen_text(app: ExmadoApp) -> str:
    """What the terminal shows now, as plain text, one line a row."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def lines_shown(app: ExmadoApp, region: Region) -> list[str]:
    """What the terminal shows in `region`, a line a row."""
    strips = app.screen._compositor.render_strips()[region.y : region.bottom]
    return [strip.crop(region.x, region.right).text for strip in strips]


def words_shown(app: ExmadoApp, region: Region) -> str:
    """What the terminal shows in `region`, as one line of words (so a sentence wrapped over
    several lines reads whole, and a word cut at the edge reads cut)."""
    return " ".join(" ".join(lines_shown(app, region)).split())


def bottom_line(app: ExmadoApp) -> str:
    return app.screen._compositor.render_strips()[-1].text


def notices(app: ExmadoApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def open_screen(pilot: Pilot, key: str, kind: type[ScreenT]) -> ScreenT:
    """Press `key` once the first screen is up; the screen of `kind` it opens, once shown."""
    await wait_for(pilot, lambda: pilot.app.screen.is_current)
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind))
    return pilot.app.screen


# -- the jobs list and a job's detail -------------------------------------------------------------


def jobs_screen(app: ExmadoApp) -> JobsScreen:
    screen = app.screen
    assert isinstance(screen, JobsScreen), screen
    return screen


async def loaded(pilot: Pilot) -> JobsScreen:
    """The jobs list, once it has shown its first page."""
    await wait_for(
        pilot, lambda: isinstance(pilot.app.screen, JobsScreen) and pilot.app.screen.loaded
    )
    return jobs_screen(pilot.app)


async def put_cursor_on(pilot: Pilot, wanted: str) -> None:
    """Walk the cursor down with the arrow keys to the job, as a person would."""
    screen = await loaded(pilot)
    await pilot.press("ctrl+home")
    for _ in range(len(screen.table.job_ids)):
        if screen.table.current_job_id == wanted:
            return
        await pilot.press("down")
    raise AssertionError(f"job {wanted[:8]} is not in the list")


async def open_detail(pilot: Pilot, wanted: str) -> JobDetailScreen:
    """The job's detail screen, opened from the list with Enter, its job read."""
    await put_cursor_on(pilot, wanted)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobDetailScreen))
    detail = pilot.app.screen
    await wait_for(pilot, lambda: detail.job is not None)
    return detail


# -- the new-job form -----------------------------------------------------------------------------


def write_csv(folder: Path) -> Path:
    """A two-invoice workbook, as a user would save it from a spreadsheet."""
    path = folder / "march.csv"
    path.write_text("Invoice number,Supplier\nINV-000001,ACME\nINV-000002,Globex\n")
    return path


async def open_form(pilot: Pilot, workbook: Path) -> NewJobScreen:
    """The new-job form (`n` from the list), with `workbook` pasted in and its preview read."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, NewJobScreen))
    screen = pilot.app.screen
    screen.workbook_input.insert_text_at_cursor(str(workbook))  # as a paste would
    await wait_for(pilot, lambda: screen.preview is not None and screen.preview.rows)
    return screen


async def pick(pilot: Pilot, screen: Screen, selector: str, typed: str) -> None:
    """Open a select with the keyboard, type to jump to an option, take it. The typing waits
    for the list to be open and focused, as a person sees it open: typed sooner on a loaded
    machine, the keys went to the closed select and the pick never happened (once in CI)."""
    select = screen.query_one(selector, Select)
    select.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: select.expanded and _focus_within(pilot, select))
    await pilot.press(*typed, "enter")


def _focus_within(pilot: Pilot, select: Select) -> bool:
    focused = pilot.app.focused
    return focused is not None and select in focused.ancestors


async def choose_profile(pilot: Pilot, screen: NewJobScreen, name: str) -> None:
    await pick(pilot, screen, "#profile", name)
    await wait_for(pilot, lambda: screen.form().profile == name)


async def form_refused(pilot: Pilot) -> None:
    """The form said it is not complete, and nothing it might have started is still running."""
    await wait_for(pilot, lambda: any("form is not complete" in n for n in notices(pilot.app)))
    await settled(pilot)
