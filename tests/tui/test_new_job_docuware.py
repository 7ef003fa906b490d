"""The new-job form's own column → field mapping, asked live of DocuWare (the sandbox over HTTP).

Nothing between the form and the sandbox is stubbed: `DocuWareLookup` opens a real
`DocuWareSession` with the settings' URL and password.
"""

from __future__ import annotations

import socket
from pathlib import Path

from textual.widgets import Input, Select

from exmado_tui.config.profiles import load_profile
from exmado_tui.sandbox import SandboxServer
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job
from exmado_tui.ui.app import make_app
from exmado_tui.ui.logic.job_forms import CUSTOM
from exmado_tui.ui.modals import PromptModal
from exmado_tui.ui.screens.jobs import JobsScreen
from exmado_tui.ui.screens.new_job import NewJobScreen
from tests.environment import make_settings
from tests.tui.pilot_steps import (
    SIZE,
    FixedProbe,
    choose_profile,
    form_refused,
    open_form,
    pick,
    wait_for,
    write_csv,
)

DOCUWARE_WAIT_S = 15  # the form gives up after the client's retries (5 connect attempts)


def closed_port() -> int:
    """A local port nobody listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_for(tmp_path: Path, redis_url: str, docuware_url: str, password: str = "demo"):
    settings = make_settings(
        tmp_path, REDIS_URL=redis_url, DOCUWARE_URL=docuware_url, DOCUWARE_PASSWORD=password
    )
    db = open_database(settings.database_url)
    return make_app(settings, probe=FixedProbe()), db


def select(screen: NewJobScreen, selector: str) -> Select:
    return screen.query_one(selector, Select)


def options(screen: NewJobScreen, selector: str) -> list[tuple[str, str]]:
    return [(str(prompt), value) for prompt, value in select(screen, selector)._options[1:]]


def message(screen: NewJobScreen) -> str:
    return str(screen.query_one("#dw-message").render())


async def map_by_hand(pilot, screen: NewJobScreen) -> None:
    """Pick "(map columns yourself)" and wait for DocuWare's cabinets."""
    await choose_profile(pilot, screen, CUSTOM)
    await wait_for(pilot, lambda: options(screen, "#cabinet"), DOCUWARE_WAIT_S)


async def test_map_a_column_to_a_field_of_a_cabinet_listed_by_docuware(
    sandbox: SandboxServer, tmp_path: Path, redis_url: str
) -> None:
    app, db = app_for(tmp_path, redis_url, sandbox.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        await map_by_hand(pilot, screen)
        assert options(screen, "#cabinet") == [("Invoices", "Invoices"), ("Personnel", "Personnel")]
        assert "Pick the DocuWare file cabinet" in str(screen.errors_label.render())

        await pick(pilot, screen, "#cabinet", "I")
        await wait_for(pilot, lambda: screen.form().cabinet == "Invoices")
        await wait_for(pilot, lambda: options(screen, "#dialog"), DOCUWARE_WAIT_S)
        dialogs = dict(options(screen, "#dialog"))
        assert "Invoice search (default)" in dialogs

        await pick(pilot, screen, "#dialog", "I")
        await wait_for(pilot, lambda: screen.form().dialog == dialogs["Invoice search (default)"])
        await wait_for(pilot, lambda: options(screen, "#dw-field"), DOCUWARE_WAIT_S)
        fields = [value for _, value in options(screen, "#dw-field")]
        assert {"INVOICE_NO", "SUPPLIER", "DOC_DATE"} <= set(fields)

        await pick(pilot, screen, "#key-column", "I")
        await pick(pilot, screen, "#dw-field", "I")
        await wait_for(pilot, lambda: screen.form().dw_field == "INVOICE_NO")
        assert screen.form().key_column == "Invoice number"
        await wait_for(pilot, lambda: not str(screen.errors_label.render()).strip())
        screen.query_one("#filename-template", Input).value = "{INVOICE_NO}"
        await wait_for(pilot, lambda: str(screen.target_label.render()) == "INV-000001.pdf")
        assert message(screen) == ""

        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: Job.select().count() == 1)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
    job = Job.get()
    db.close()
    assert job.profile == ""  # no named profile: the form's own mapping
    assert job.config["cabinet"] == "Invoices"
    assert job.config["dialog"] == dialogs["Invoice search (default)"]
    assert job.config["columns"] == {"Invoice number": "INVOICE_NO"}
    assert job.config["filename_template"] == "{INVOICE_NO}"
    assert sandbox.stats.count("DialogExpression") == 0  # the form only looked, never searched


async def test_an_unreachable_docuware_is_named_in_the_form(tmp_path: Path, redis_url: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    app, db = app_for(tmp_path, redis_url, url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        await choose_profile(pilot, screen, CUSTOM)
        await wait_for(pilot, lambda: "cannot be" in message(screen), DOCUWARE_WAIT_S)
        assert url in message(screen)
        assert "cannot be reached" in message(screen)
        assert not screen.query_one("#dw-loading").display
        assert options(screen, "#cabinet") == []
        await pilot.press("ctrl+s")  # refused: no cabinet; the form is still there and alive
        await form_refused(pilot)
        assert isinstance(pilot.app.screen, NewJobScreen)
        assert "Pick the DocuWare file cabinet" in str(screen.errors_label.render())
    db.close()
    assert Job.select().count() == 0


async def test_a_refused_sign_in_in_the_form_gives_the_dashboards_advice(
    sandbox: SandboxServer, tmp_path: Path, redis_url: str
) -> None:
    """Not the workers' (restart them, retry the job): the form's user signs in from here."""
    app, db = app_for(tmp_path, redis_url, sandbox.url, password="wrong")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        await choose_profile(pilot, screen, CUSTOM)
        await wait_for(pilot, lambda: "refused" in message(screen), DOCUWARE_WAIT_S)
        said = message(screen)
        assert "Check DOCUWARE_PASSWORD and the user name, then start the dashboard again." in said
        assert "worker" not in said and "retry" not in said
    db.close()


async def test_a_hand_made_mapping_runs_and_saves_with_the_templates_it_shows(
    sandbox: SandboxServer, tmp_path: Path, redis_url: str
) -> None:
    app, db = app_for(tmp_path, redis_url, sandbox.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, write_csv(tmp_path))
        await map_by_hand(pilot, screen)
        await pick(pilot, screen, "#cabinet", "I")
        # the default dialog's fields, without picking a dialog
        await wait_for(pilot, lambda: options(screen, "#dw-field"), DOCUWARE_WAIT_S)
        assert screen.form().dialog == ""
        for selector in ("#folder-template", "#filename-template"):
            template = screen.query_one(selector, Input)
            assert template.value == "" and "{" not in template.placeholder
        await pick(pilot, screen, "#key-column", "I")
        await pick(pilot, screen, "#dw-field", "I")
        await wait_for(pilot, lambda: screen.form().dw_field == "INVOICE_NO")
        assert str(screen.target_label.render()) == "‹DocuWare's name›.pdf"
        screen.query_one("#folder-template", Input).value = "{SUPPLIER}"
        screen.query_one("#filename-template", Input).value = "{INVOICE_NO}"
        screen.query_one("#save-profile").press()
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PromptModal))
        await pilot.press(*"mine", "enter")
        await wait_for(pilot, lambda: (app.settings.user_profiles_dir / "mine.toml").exists())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: Job.select().count() == 1)
    job = Job.get()
    db.close()
    saved = load_profile(app.settings.profile_dirs, "mine")
    assert (saved.folder_template, saved.filename_template) == ("{SUPPLIER}", "{INVOICE_NO}")
    assert (job.config["folder_template"], job.config["filename_template"]) == (
        "{SUPPLIER}",
        "{INVOICE_NO}",
    )
