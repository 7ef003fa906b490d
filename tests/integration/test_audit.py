"""Every control action says who did it and from where: user, SSH address, host and door."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import Settings, system_zone
from exmado_tui.job.actor import AUDIT_LOG, BROWSER_ENV, Actor, Door
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.output.report import write_report
from exmado_tui.store.models import JobEvent
from exmado_tui.ui.app import make_app
from tests.cli_runner import run

S = JobStatus
SSH = {"SSH_CONNECTION": "10.0.0.5 52114 10.0.0.1 22"}
ANA = Actor("ana", "web1", Door.DASHBOARD, "10.0.0.5")


def test_an_actor_is_the_user_the_ssh_address_the_host_and_the_door() -> None:
    me = getpass.getuser()
    assert str(Actor.here(Door.CLI, "web1", SSH)) == f"{me} from 10.0.0.5 on web1 (CLI)"
    assert str(Actor.here(Door.DROP_FOLDER, "web1", {})) == f"{me} on web1 (drop folder)"
    browser = Actor.here(Door.DASHBOARD, "web1", {BROWSER_ENV: "1"})
    assert browser.door is Door.BROWSER


def test_every_control_action_names_who_did_it_and_the_manifest_who_created_and_started(
    store: Settings, workbook: Path, redis_url: str
) -> None:
    service = JobService(store, actor=ANA)
    job_id = service.create(JobRequest(workbook, profile="invoices", start=True)).id
    for status in (S.VALIDATING, S.RUNNING):
        transition(job_id, status)
    service.pause(job_id)
    service.resume(job_id)
    service.cancel(job_id)
    service.retry(job_id)
    service.fail(job_id, "wrong list")
    service.retry(job_id)
    service.terminate(job_id)
    events = [e.message for e in JobEvent.select().where(JobEvent.job == job_id)]
    said = [m.split(" by ana from 10.0.0.5 on web1 (dashboard)")[0] for m in events]
    assert said == [
        "Created from march.xlsx",
        "Queued for the workers",
        "Paused",
        "Resumed",
        "Cancelled",
        "Retry",
        "Queued for the workers",
        "Marked failed",
        "Retry",
        "Queued for the workers",
        "Terminated",
    ]
    manifest = json.loads(write_report(job_id, system_zone()).manifest.read_text())
    assert manifest["created_by"] == manifest["started_by"] == str(ANA)
    service.delete(job_id)
    audit = (store.data_dir / AUDIT_LOG).read_text()
    assert f"Deleted job {job_id} (march) by {ANA}.\n" in audit


def test_jobs_events_shows_the_cli_and_the_ssh_address(
    env: dict[str, str], workbook: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", SSH["SSH_CONNECTION"])
    job_id = json.loads(
        run(capsys, "jobs", "create", str(workbook), "--profile", "invoices", "--json")[1]
    )
    assert run(capsys, "jobs", "cancel", job_id["id"])[0] == 0
    code, out, _ = run(capsys, "jobs", "events", job_id["id"])
    assert code == 0
    by = f"by {getpass.getuser()} from 10.0.0.5 on {load_settings().host} (CLI)."
    assert f"Created from march.xlsx {by}" in out and f"Cancelled {by}" in out
    shown = run(capsys, "jobs", "show", job_id["id"])[1]
    assert f"Created by:  {by[3:-1]}\nStarted by:  -\n" in shown


@pytest.mark.parametrize(("browser", "door"), [("", Door.DASHBOARD), ("1", Door.BROWSER)])
def test_the_dashboard_acts_as_itself_or_as_the_browser(
    store: Settings, monkeypatch, browser: str, door: Door
) -> None:
    monkeypatch.setenv(BROWSER_ENV, browser)
    assert make_app(store).backend.service.actor.door is door
