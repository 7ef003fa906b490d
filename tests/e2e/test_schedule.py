"""`[[schedule]]` with the real programs: `exmado watch` makes the entry's run as soon as it
starts (it never ran), a real worker exports it, and `exmado schedule list` shows the run."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from exmado_tui.store.models import Job
from tests.reliability.harness import Exmado, wait_for

ACME = """\
cabinet = "Invoices"
[query]
conditions = ["DOC_DATE=2021-01-01..2021-01-05"]
[templates]
folder = "{SUPPLIER}"
filename = "{INVOICE_NO}"
"""


def scheduled() -> Job | None:
    return Job.select().where(Job.source == "schedule").first()


@pytest.mark.slow
def test_the_watcher_makes_a_scheduled_run_that_a_worker_exports(exmado: Exmado) -> None:
    profiles = exmado.tmp_path / "user-profiles"
    profiles.mkdir(exist_ok=True)
    (profiles / "acme.toml").write_text(ACME)
    output = exmado.tmp_path / "acme"
    exmado.configure(extra=f'[[schedule]]\nprofile = "acme"\nevery = "1d"\noutput = "{output}"')
    exmado.start_worker(threads=1)
    exmado.start_watcher()

    made = wait_for(scheduled, 30, "the scheduled job")
    job = exmado.wait(made.id)
    assert job.status.value == "COMPLETED" and job.files_count > 0
    assert (output / "exmado-report.xlsx").exists()

    listed = exmado.cli("schedule", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert entry["last_job"] == made.id
    assert entry["last_outcome"].startswith(f"Made job {made.id[:8]}")
    last = datetime.fromisoformat(entry["last_run"])
    assert datetime.fromisoformat(entry["next_run"]) == last + timedelta(days=1)
