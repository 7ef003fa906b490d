"""Text from data, the store and exceptions is shown as written: "[columns]", "[b]" and "[/]"
in a job name, an error or a file name are never read as markup (which would drop them, or
fail on a lone "[/]"), and their control characters (ESC, NUL) show as `\x1b`, never reaching
the terminal raw."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from exmado_tui.store.models import Job, JobEvent, JobFile, JobRow
from exmado_tui.ui.modals import DeleteJobModal, RowModal
from exmado_tui.ui.screens.dropfolder import DropFolderScreen
from exmado_tui.ui.screens.jobs import JobsScreen
from exmado_tui.ui.screens.workers import WorkersScreen
from tests.tui.pilot_steps import choose_profile, open_detail, open_form, screen_text, wait_for
from tests.tui.seed import FROZEN_NOW, job_id, seed_refused, seed_rows, seed_worker

SIZE = (120, 40)
NAME = "[b]A[/] [columns]"
ERROR = "Change the profile's [columns] [/]"
FILE = "[b]x[/b] [columns]/[bold]INV-1.pdf"
RUNNING, WITH_ERRORS = job_id(0), job_id(4)


def bracketed_job() -> None:
    """The completed-with-errors job, named, failed and filed with brackets everywhere."""
    Job.update(name=NAME, last_error=ERROR).where(Job.id == WITH_ERRORS).execute()
    seed_rows(WITH_ERRORS, 3, done=3)
    first = JobRow.get(JobRow.job == WITH_ERRORS, JobRow.row_number == 2)
    JobRow.update(status="failed", error=ERROR).where(JobRow.id == first.id).execute()
    second = JobRow.get(JobRow.job == WITH_ERRORS, JobRow.row_number == 3)
    JobFile.create(
        job=WITH_ERRORS, row=second, cabinet_id="fc", document_id="7", path=FILE, size=1,
        sha256="cd" * 32, created_at=FROZEN_NOW,
    )  # fmt: skip
    JobEvent.create(job=WITH_ERRORS, message=ERROR, at=FROZEN_NOW)


async def test_names_errors_and_files_in_the_list_the_detail_and_its_modals(app_factory, seeded):
    bracketed_job()
    async with app_factory().run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        await wait_for(pilot, lambda: NAME in screen_text(pilot.app))
        detail = await open_detail(pilot, WITH_ERRORS)
        await wait_for(pilot, lambda: detail.rows_table.current)
        text = screen_text(pilot.app)
        assert NAME in text and ERROR in text  # title, summary and the rows table
        await pilot.press("enter")  # the first row, the failed one
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RowModal))
        assert ERROR in screen_text(pilot.app)
        await pilot.press("escape", "2")
        await wait_for(pilot, lambda: FILE in screen_text(pilot.app))
        await pilot.press("3")
        await wait_for(pilot, lambda: ERROR in screen_text(pilot.app))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteJobModal))
        assert f"({NAME})" in screen_text(pilot.app)


@pytest.fixture
def short_path() -> Iterator[Path]:
    """A folder whose path fits the form's field (pytest-xdist's tmp paths are long)."""
    folder = Path(tempfile.mkdtemp(prefix="ex-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def test_a_workbook_and_a_job_name_in_the_form_and_its_notice(app_factory, store, short_path):
    workbook = short_path / "[bold]march[columns].csv"
    workbook.write_text("Invoice number,[columns]\nINV-000001,[/]\n")
    async with app_factory().run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_form(pilot, workbook)
        await choose_profile(pilot, screen, "invoices")

        def shown() -> bool:  # the preview is read in the background
            text = screen_text(pilot.app)
            return all(part in text for part in ("[columns]", "[/]", workbook.name))

        await wait_for(pilot, shown)
        screen.query_one("#name").value = NAME
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        await wait_for(pilot, lambda: f"({NAME}) created" in screen_text(pilot.app))


async def test_the_workers_and_drop_folder_screens(app_factory, store, seeded, redis_url):
    Job.update(name=NAME, worker="host-a:1").where(Job.id == RUNNING).execute()
    seed_worker(redis_url, "[b]host[/]", [RUNNING])
    seed_refused(store.dropfolder.path, "[bold]bad[columns].xlsx", ERROR)
    async with app_factory().run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, WorkersScreen))
        await wait_for(pilot, lambda: NAME in screen_text(pilot.app))
        await wait_for(pilot, lambda: "[b]host[/]" in screen_text(pilot.app))  # Redis, read after
        await pilot.press("escape", "f")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DropFolderScreen))
        await wait_for(pilot, lambda: "[bold]bad[columns].xlsx" in screen_text(pilot.app))
        assert ERROR in screen_text(pilot.app)


HOSTILE = "INV\x1b[2J\x00"
SHOWN = "INV\\x1b[2J\\x00"


def hostile_job() -> None:
    """The completed-with-errors job, its name, first row, error and file holding ESC and NUL."""
    Job.update(name=f"N{HOSTILE}", last_error=f"E{HOSTILE}").where(Job.id == WITH_ERRORS).execute()
    seed_rows(WITH_ERRORS, 3, done=3)
    first = JobRow.get(JobRow.job == WITH_ERRORS, JobRow.row_number == 2)
    JobRow.update(
        key=HOSTILE, values={"Invoice number": HOSTILE}, status="failed", error=f"E{HOSTILE}"
    ).where(JobRow.id == first.id).execute()
    JobFile.create(
        job=WITH_ERRORS, row=first, cabinet_id="fc", document_id="7", path=f"F{HOSTILE}.pdf",
        size=1, sha256="cd" * 32, created_at=FROZEN_NOW,
    )  # fmt: skip


def shows_escaped(app, *parts: str) -> bool:
    """Every part is on screen with its control characters as `\\x..`, none of them raw."""
    text = screen_text(app)
    assert "\x1b" not in text and "\x00" not in text
    return all(part.replace(HOSTILE, SHOWN) in text for part in parts)


async def test_control_characters_of_a_key_show_as_escapes(app_factory, seeded):
    hostile_job()
    async with app_factory().run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        await wait_for(pilot, lambda: shows_escaped(pilot.app, "NINV\\x1b"))  # the name, cut
        detail = await open_detail(pilot, WITH_ERRORS)
        await wait_for(pilot, lambda: detail.rows_table.current)
        await wait_for(
            pilot, lambda: shows_escaped(pilot.app, HOSTILE, f"N{HOSTILE}", f"E{HOSTILE}")
        )
        await pilot.press("enter")  # the first row, the hostile one
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RowModal))
        assert shows_escaped(pilot.app, f"E{HOSTILE}", f"F{HOSTILE}.pdf")
        assert shows_escaped(pilot.app, f"Invoice number  {HOSTILE}")
        await pilot.press("escape", "2")
        await wait_for(pilot, lambda: shows_escaped(pilot.app, f"F{HOSTILE}.pdf"))
        await pilot.press("4")
        await wait_for(pilot, lambda: shows_escaped(pilot.app, f"N{HOSTILE}"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteJobModal))
        assert shows_escaped(pilot.app, f"(N{HOSTILE})")


async def test_control_characters_on_the_workers_and_drop_folder_screens(
    app_factory, store, seeded, redis_url
):
    Job.update(name=f"N{HOSTILE}", worker=f"W{HOSTILE}").where(Job.id == RUNNING).execute()
    seed_worker(redis_url, f"H{HOSTILE}", [RUNNING])
    # a file name holds no NUL
    seed_refused(store.dropfolder.path, f"B{HOSTILE[:-1]}.xlsx", f"R{HOSTILE}")
    async with app_factory().run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, WorkersScreen))
        await wait_for(pilot, lambda: shows_escaped(pilot.app, f"N{HOSTILE}", f"W{HOSTILE}"))
        await wait_for(pilot, lambda: shows_escaped(pilot.app, f"H{HOSTILE}"))  # after the jobs
        await pilot.press("escape", "f")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DropFolderScreen))
        await wait_for(pilot, lambda: shows_escaped(pilot.app, f"R{HOSTILE}"))
        assert "BINV\\x1b[2J.xlsx" in screen_text(pilot.app)
