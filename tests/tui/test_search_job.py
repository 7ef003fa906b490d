"""A job "From a search" in the dashboard (`n`, then Ctrl+F), asking the sandbox over HTTP:
the cabinet and fields come from DocuWare, a condition is added from a field, DocuWare's count
is shown before creating, and the job made is a query job with that count."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Select

from exmado_tui.sandbox import SandboxServer
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job
from exmado_tui.ui.app import make_app
from exmado_tui.ui.screens.jobs import JobsScreen
from exmado_tui.ui.screens.new_job import NewJobScreen
from exmado_tui.ui.screens.search_job import SearchJobScreen
from tests.environment import make_settings
from tests.tui.pilot_steps import SIZE, FixedProbe, form_refused, pick, wait_for, words_shown

DOCUWARE_WAIT_S = 15


def text(screen: SearchJobScreen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def search_invoices(pilot: Pilot) -> SearchJobScreen:
    """The search form (`n`, then Ctrl+F) with the Invoices cabinet picked."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, NewJobScreen))
    await pilot.press("ctrl+f")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SearchJobScreen))
    screen = pilot.app.screen
    assert isinstance(screen, SearchJobScreen)
    cabinets = screen.query_one("#cabinet", Select)
    await wait_for(pilot, lambda: len(cabinets._options) > 1, DOCUWARE_WAIT_S)
    await pick(pilot, screen, "#cabinet", "I")
    return screen


async def test_a_job_from_a_search_is_counted_before_it_is_created(
    sandbox: SandboxServer, tmp_path: Path, redis_url: str
) -> None:
    settings = make_settings(
        tmp_path, REDIS_URL=redis_url, DOCUWARE_URL=sandbox.url, DOCUWARE_PASSWORD="demo"
    )
    db = open_database(settings.database_url)
    everything = sandbox.catalogue.documents("Invoices")
    wanted = [
        d
        for d in sandbox.catalogue.documents("Invoices")
        if dt.datetime.fromtimestamp(d.value("DOC_DATE") / 1000, dt.UTC).year >= 2022
    ]
    async with make_app(settings, probe=FixedProbe()).run_test(size=SIZE) as pilot:
        screen = await search_invoices(pilot)
        await wait_for(
            pilot,
            lambda: text(screen, "#count") == f"{len(everything):,} documents",
            DOCUWARE_WAIT_S,
        )

        fields = screen.query_one("#field", Select)
        await wait_for(pilot, lambda: len(fields._options) > 1, DOCUWARE_WAIT_S)
        fields.value = "DOC_DATE"
        screen.query_one("#value", Input).focus()
        await pilot.press(*"2022-01-01..", "ctrl+a")  # typed, so Ctrl+A comes from the field
        assert screen.form().conditions == "DOC_DATE=2022-01-01.."
        await wait_for(
            pilot, lambda: text(screen, "#count") == f"{len(wanted):,} documents", DOCUWARE_WAIT_S
        )
        screen.query_one("#conditions", Input).value += " AMOUNT=abc"
        await wait_for(pilot, lambda: "is not a number" in text(screen, "#count"), DOCUWARE_WAIT_S)
        await pilot.press("ctrl+s")  # refused while DocuWare cannot count it
        await form_refused(pilot)
        assert isinstance(pilot.app.screen, SearchJobScreen)
        screen.query_one("#conditions", Input).value = "DOC_DATE=2022-01-01.."
        await wait_for(
            pilot, lambda: text(screen, "#count") == f"{len(wanted):,} documents", DOCUWARE_WAIT_S
        )

        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: Job.select().count() == 1)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
    job = Job.get()
    db.close()
    assert job.source == "tui" and job.status == "PENDING"
    assert job.config["query"] == {
        "cabinet": "Invoices",
        "dialog": "",
        "conditions": ["DOC_DATE=2022-01-01.."],
        "counted": len(wanted),
    }
    assert job.workbook_name == "query Invoices: DOC_DATE=2022-01-01.."


async def test_why_docuware_cannot_count_reads_whole_at_80_columns(
    sandbox: SandboxServer, tmp_path: Path, redis_url: str
) -> None:
    """The sentence beside "Documents" was laid out as wide as the whole row, so its lines ran
    past the right edge and lost a word or two each."""
    settings = make_settings(
        tmp_path, REDIS_URL=redis_url, DOCUWARE_URL=sandbox.url, DOCUWARE_PASSWORD="demo"
    )
    db = open_database(settings.database_url)
    async with make_app(settings, probe=FixedProbe()).run_test(size=SIZE) as pilot:
        screen = await search_invoices(pilot)
        screen.query_one("#conditions", Input).value = "AMOUNT=abc"
        await wait_for(pilot, lambda: "is not a number" in text(screen, "#count"), DOCUWARE_WAIT_S)
        count = screen.query_one("#count")
        await wait_for(pilot, lambda: count.region.height > 1)  # laid out with the new text
        shown = words_shown(pilot.app, count.region)
        assert shown == (
            "Condition 'AMOUNT=abc': AMOUNT is a decimal field, and 'abc' is not a number "
            "(a point for decimals: 1234.50)."
        ), shown
    db.close()
