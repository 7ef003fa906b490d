"""Creating a job through the form: workbook, preview, profile, create / create and start."""

from __future__ import annotations

from pathlib import Path

import redis

from exmado_tui.models import Job
from exmado_tui.profiles import load_profile
from exmado_tui.queue import JOBS_QUEUE, NAMESPACE
from exmado_tui.ui.modals.prompt import PromptModal
from exmado_tui.ui.screens.jobs import JobsScreen
from exmado_tui.ui.screens.new_job import NewJobScreen
from tests.tui.conftest import notices, wait_for

SIZE = (80, 24)


def write_csv(folder: Path) -> Path:
    path = folder / "march.csv"
    path.write_text("Invoice number,Supplier\nINV-000001,ACME\nINV-000002,Globex\n")
    return path


async def open_form(pilot, workbook: Path) -> NewJobScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, NewJobScreen))
    screen = pilot.app.screen
    screen.workbook_input.insert_text_at_cursor(str(workbook))  # as a paste would
    await wait_for(pilot, lambda: screen.preview is not None and screen.preview.rows)
    return screen


async def choose_profile(pilot, screen: NewJobScreen, name: str) -> None:
    screen.profile_select.focus()
    await pilot.press("enter", *name, "enter")
    await wait_for(pilot, lambda: screen.form().profile == name)


async def test_create_through_the_form(app_factory, store, tmp_path):
    workbook = write_csv(tmp_path)
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, workbook)
        assert screen.preview_table.row_count == 2
        assert "Pick a profile" in str(screen.errors_label.render())
        await pilot.press("ctrl+s")  # refused: no profile yet
        await pilot.pause(0.1)
        assert Job.select().count() == 0
        await choose_profile(pilot, screen, "invoices")
        await wait_for(pilot, lambda: "ACME/" in str(screen.target_label.render()))
        assert str(screen.target_label.render()).endswith("INV-000001.pdf")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: Job.select().count() == 1)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
    job = Job.get()
    assert (job.name, job.source, job.profile, job.status) == (
        "march",
        "tui",
        "invoices",
        "PENDING",
    )
    assert job.config["cabinet"] == "Invoices"
    assert job.queued_at is None


async def test_create_and_start_queues_the_job(app_factory, store, tmp_path, redis_url):
    workbook = write_csv(tmp_path)
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, workbook)
        await choose_profile(pilot, screen, "personnel")
        await wait_for(pilot, lambda: "Employee number" in str(screen.errors_label.render()))
        await choose_profile(pilot, screen, "invoices")
        await wait_for(pilot, lambda: not str(screen.errors_label.render()).strip())
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: Job.select().count() == 1)
        await wait_for(pilot, lambda: any("created and queued" in n for n in notices(pilot.app)))
    assert redis.Redis.from_url(redis_url).llen(f"{NAMESPACE}:{JOBS_QUEUE}") == 1


async def test_a_missing_workbook_is_named_and_nothing_is_created(app_factory, store, tmp_path):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        screen.workbook_input.value = str(tmp_path / "nope.xlsx")
        await wait_for(pilot, lambda: "does not exist" in str(screen.errors_label.render()))
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert isinstance(pilot.app.screen, NewJobScreen)
    assert Job.select().count() == 0


async def test_save_as_profile_writes_into_the_users_folder(app_factory, store, tmp_path):
    bundled = sorted(store.profiles_dir.iterdir())
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        await choose_profile(pilot, screen, "invoices")
        screen.query_one("#format").value = "zip"
        screen.query_one("#save-profile").press()
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PromptModal))
        await pilot.press(*"invoices-zip", "enter")
        await wait_for(pilot, lambda: (store.user_profiles_dir / "invoices-zip.toml").exists())
    assert sorted(store.profiles_dir.iterdir()) == bundled  # the program's folder is untouched
    saved = load_profile([store.user_profiles_dir], "invoices-zip")
    assert saved.format == "zip"
    assert saved.columns == {"Invoice number": "INVOICE_NO"}
    assert saved.folder_template == "{SUPPLIER}/{DOC_DATE:%Y}"
