"""`[[schedule]]` runs against the sandbox over HTTP, real Redis and a real store: a run
missed while stopped is made once, two watchers on one store make a run once, and a bad
entry is one sentence at `config show`, `doctor` and `schedule list`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import Settings
from exmado_tui.sandbox import SandboxServer
from exmado_tui.schedule.runs import Scheduler, claim
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job, ScheduleRun
from tests.cli_runner import run, run_json
from tests.clocks import ManualClock
from tests.environment import REPO, settings_env

ACME = """\
cabinet = "Invoices"
[query]
conditions = ["DOC_DATE=2021-01-01..2021-01-10"]
[templates]
folder = "{SUPPLIER}"
filename = "{INVOICE_NO}"
"""
MARCH_4_10H = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def install(tmp_path: Path, sandbox: SandboxServer, redis_url: str, entry: str) -> dict[str, str]:
    """A host file with `entry` as its [[schedule]], the profile it names, and the variables."""
    (tmp_path / "user-profiles").mkdir(exist_ok=True)
    (tmp_path / "user-profiles" / "acme.toml").write_text(ACME)
    host = tmp_path / "host.toml"
    host.write_text(f'timezone = "UTC"\n[[schedule]]\n{entry}\n')
    return {
        **settings_env(tmp_path),
        "EXMADO_CONFIG": str(host),
        "DOCUWARE_URL": sandbox.url,
        "DOCUWARE_PASSWORD": "demo",
        "REDIS_URL": redis_url,
    }


def settings_of(env: dict[str, str]) -> Settings:
    settings = load_settings(environ=env)
    open_database(settings.database_url)
    return settings


def test_a_run_missed_while_stopped_is_made_once(tmp_path, sandbox, redis_url):
    settings = settings_of(install(tmp_path, sandbox, redis_url, 'profile = "acme"\nat = "02:00"'))
    assert claim("acme", None, datetime(2026, 3, 1, 2, 0, 3, tzinfo=UTC), "earlier:1")
    clock = ManualClock(MARCH_4_10H.timestamp())  # stopped over three nights
    scheduler = Scheduler(settings, clock=lambda: datetime.fromtimestamp(clock(), UTC))

    assert scheduler.tick() == ["acme"]
    clock.now += 60
    assert scheduler.tick() == []  # not once per night missed

    [job] = Job.select()
    assert (job.source, job.status.value, job.name) == ("schedule", "PENDING", "acme")
    assert job.created_by.endswith("(schedule)")
    assert job.config["query"]["since_last_run"] is True
    run_ = ScheduleRun.get_by_id("acme")
    assert (run_.job_id, run_.last_run_at) == (job.id, MARCH_4_10H.replace(tzinfo=None))
    assert run_.outcome.startswith(f"Made job {job.id[:8]} (")
    assert "Schedule acme by " in (settings.data_dir / "audit.log").read_text()


TICK = """
import sys
from datetime import datetime
from exmado_tui.config.loading import load_settings
from exmado_tui.schedule.runs import Scheduler
from exmado_tui.store.db import open_database

settings = load_settings()
open_database(settings.database_url)
at = datetime.fromisoformat(sys.argv[1])
print(Scheduler(settings, clock=lambda: at).tick())
"""


def test_two_watchers_on_one_store_make_a_run_once(tmp_path, sandbox, redis_url):
    env = install(tmp_path, sandbox, redis_url, 'profile = "acme"\nevery = "1d"')
    settings_of(env)  # the store made before the two start
    watchers = [
        subprocess.Popen(
            [sys.executable, "-c", TICK, MARCH_4_10H.isoformat()],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    said = sorted(w.communicate(timeout=60)[0].strip() for w in watchers)
    assert said == ["['acme']", "[]"]
    assert Job.select().count() == 1


def test_schedule_list_shows_the_last_and_next_run(
    tmp_path, sandbox, redis_url, monkeypatch, capsys
):
    env = install(tmp_path, sandbox, redis_url, 'profile = "acme"\nat = "02:00"')
    settings_of(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert claim("acme", None, datetime(2026, 3, 1, 2, 0, 3, tzinfo=UTC), "web1:7")
    [entry] = run_json(capsys, "schedule", "list")
    assert entry["last_run"] == "2026-03-01T02:00:03+00:00"
    assert entry["claimed_by"] == "web1:7"
    assert entry["next_run"] == "2026-03-02T02:00:00+00:00"
    code, out, _ = run(capsys, "schedule", "list")
    assert code == 0 and "acme: profile acme, at 02:00, only what is new" in out


@pytest.mark.parametrize(
    ("entry", "sentence"),
    [
        (
            'profile = "nope"\nat = "02:00"',
            "[[schedule]] nope: Profile 'nope' not found in",
        ),
        (
            'profile = "invoices"\nat = "02:00"',
            "[[schedule]] invoices: profile 'invoices' has no [query]",
        ),
        ('profile = "acme"\nat = "02:00"\nevery = "1d"', "not both."),
    ],
)
def test_a_bad_entry_is_one_sentence(
    tmp_path, sandbox, redis_url, monkeypatch, capsys, entry, sentence
):
    for name, value in install(tmp_path, sandbox, redis_url, entry).items():
        monkeypatch.setenv(name, value)
    for command in (("config", "show"), ("schedule", "list"), ("watch",)):
        code, out, err = run(capsys, *command)
        assert code == 1 and sentence in err and "Traceback" not in err, (command, err)
    code, out, _ = run(capsys, "doctor")
    assert sentence in out and "Traceback" not in out


def test_a_claim_holds_only_for_the_last_run_it_read(tmp_path, sandbox, redis_url):
    settings_of(install(tmp_path, sandbox, redis_url, 'profile = "acme"\nevery = "1d"'))
    first, then = MARCH_4_10H, datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    assert claim("acme", None, first, "web1:1")
    assert not claim("acme", None, first, "web2:1")  # the first run: the name is taken
    assert claim("acme", first, then, "web2:1")
    assert not claim("acme", first, then, "web1:1")  # read the same last run: too late
    assert ScheduleRun.get_by_id("acme").claimed_by == "web2:1"


def test_a_run_that_fails_says_why_and_waits_for_its_next_time(tmp_path, sandbox, redis_url):
    profile = ACME.replace("DOC_DATE=2021-01-01..2021-01-10", "SUPPLEIR=ACME*")
    settings = settings_of(install(tmp_path, sandbox, redis_url, 'profile = "acme"\nevery = "1h"'))
    (tmp_path / "user-profiles" / "acme.toml").write_text(profile)
    clock = ManualClock(MARCH_4_10H.timestamp())
    scheduler = Scheduler(settings, clock=lambda: datetime.fromtimestamp(clock(), UTC))

    assert scheduler.tick() == ["acme"]
    clock.now += 60
    assert scheduler.tick() == []
    run_ = ScheduleRun.get_by_id("acme")
    assert run_.outcome.startswith("Not run: Condition 'SUPPLEIR=ACME*': the search dialog")
    assert (run_.job_id, Job.select().count()) == ("", 0)
