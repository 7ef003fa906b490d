"""Creating a job through the form: workbook, preview, profile, create / create and start."""

from __future__ import annotations

from pathlib import Path

from rich.color import Color
from rich.style import Style
from textual.widgets import Footer, Input, Select
from textual.widgets._select import SelectCurrent, SelectOverlay

from exmado_tui.config.profiles import load_profile
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from exmado_tui.store.models import Job
from exmado_tui.ui.logic.job_forms import CUSTOM
from exmado_tui.ui.modals import FilePickerModal, PromptModal
from exmado_tui.ui.screens.jobs import JobsScreen
from exmado_tui.ui.screens.new_job import NewJobScreen
from tests.job_queue import queue_length
from tests.tui.pilot_steps import (
    SIZE,
    bottom_line,
    choose_profile,
    form_refused,
    notices,
    open_form,
    wait_for,
    write_csv,
)


async def test_create_through_the_form(app_factory, store, tmp_path):
    workbook = write_csv(tmp_path)
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, workbook)
        assert screen.preview_table.row_count == 2
        assert "Pick a profile" in str(screen.errors_label.render())
        await pilot.press("ctrl+s")  # refused: no profile yet
        await form_refused(pilot)
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
    assert queue_length(redis_url) == 1


async def test_a_missing_workbook_is_named_and_nothing_is_created(app_factory, store, tmp_path):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        screen.workbook_input.value = str(tmp_path / "nope.xlsx")
        await wait_for(pilot, lambda: "does not exist" in str(screen.errors_label.render()))
        await pilot.press("ctrl+s")
        await form_refused(pilot)
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


async def test_every_field_starts_from_the_profile_and_is_stored_as_shown(
    app_factory, store, tmp_path
):
    workbook = write_csv(tmp_path)
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, workbook)
        await choose_profile(pilot, screen, "invoices")
        form = screen.form()
        assert (form.format, form.folder_template, form.filename_template) == (
            "pdf",
            "{SUPPLIER}/{DOC_DATE:%Y}",
            "{INVOICE_NO}",
        )
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: Job.select().count() == 1)
    from_form = Job.get()
    from_cli = JobService(store).create(JobRequest(workbook, profile="invoices"))
    assert from_form.config == Job.get_by_id(from_cli.id).config  # as `jobs create --profile`
    assert from_form.config["format"] == "pdf"


async def test_an_edited_template_is_what_the_job_runs_with(app_factory, store, tmp_path):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        await choose_profile(pilot, screen, "invoices")
        screen.query_one("#filename-template", Input).value = "{INVOICE_NO} copy"
        await wait_for(pilot, lambda: "INV-000001 copy" in str(screen.target_label.render()))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: Job.select().count() == 1)
    assert Job.get().config["filename_template"] == "{INVOICE_NO} copy"


async def test_ctrl_e_creates_and_starts_from_a_text_field(app_factory, store, tmp_path, redis_url):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        await choose_profile(pilot, screen, "invoices")
        screen.query_one("#name", Input).focus()
        await pilot.press(*"march run", "ctrl+e")
        await wait_for(pilot, lambda: Job.select().count() == 1)
    assert Job.get().name == "march run"
    assert queue_length(redis_url) == 1


async def test_after_create_the_cursor_is_on_the_new_job(app_factory, seeded, tmp_path):
    async with app_factory().run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        jobs = pilot.app.screen
        await wait_for(pilot, lambda: len(jobs.table.job_ids) == len(seeded))
        await pilot.press("down", "down", "down")
        screen = await open_form(pilot, write_csv(tmp_path))
        await choose_profile(pilot, screen, "invoices")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: pilot.app.screen is jobs)
        created = Job.get(Job.id.not_in(seeded)).id
        await wait_for(pilot, lambda: jobs.table.current_job_id == created)


def field_look(screen: NewJobScreen, selector: str) -> tuple[Style, Color | None]:
    """The style of a field's label and the background of its value."""
    field = screen.query_one(selector)
    label = field.parent.query_one(".field-label")
    value = field.query_one(SelectCurrent) if isinstance(field, Select) else field
    return label.rich_style, value.rich_style.bgcolor


async def test_the_focused_field_stands_out(app_factory, store, tmp_path):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        for selector in ("#name", "#format", "#output"):
            label, background = field_look(screen, selector)
            screen.query_one(selector).focus()
            await pilot.pause()
            focused_label, focused_background = field_look(screen, selector)
            assert focused_label != label, selector
            assert focused_background != background, selector


async def test_a_select_drop_down_leaves_the_footer_visible(app_factory, store, tmp_path):
    wide = tmp_path / "wide.csv"  # a long column list: the drop-downs reach the bottom line
    wide.write_text(",".join(f"Column {n}" for n in range(20)) + "\n" + ",".join("x" * 20) + "\n")
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, wide)
        await choose_profile(pilot, screen, CUSTOM)  # every select of the form on screen
        footer = screen.query_one(Footer)
        for select in screen.query(Select):
            select.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: select.expanded)  # noqa: B023
            await pilot.pause()
            overlay = select.query_one(SelectOverlay)
            assert overlay.region.bottom <= footer.region.y, select.id
            assert "Dismiss menu" in bottom_line(pilot.app), select.id
            await pilot.press("escape")


async def test_the_file_picker_shows_its_keys_and_backspace_goes_up(app_factory, store, tmp_path):
    folder = tmp_path / "in" / "here"
    folder.mkdir(parents=True)
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        screen.workbook_input.value = str(folder)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FilePickerModal))
        await pilot.pause()
        assert "Pick / open" in bottom_line(pilot.app)
        assert "⌫ Parent folder" in bottom_line(pilot.app)
        await pilot.press("backspace")
        await wait_for(pilot, lambda: Path(pilot.app.screen.workbook_tree.path) == folder.parent)


async def test_a_broken_template_is_named_under_the_form(app_factory, store, tmp_path):
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        await choose_profile(pilot, screen, "invoices")
        screen.query_one("#filename-template", Input).value = "{INVOICE_NO"
        await wait_for(pilot, lambda: "malformed" in str(screen.errors_label.render()))
        assert "File name" in str(screen.errors_label.render())
        await pilot.press("ctrl+s")
        await form_refused(pilot)
        assert isinstance(pilot.app.screen, NewJobScreen)
    assert Job.select().count() == 0
