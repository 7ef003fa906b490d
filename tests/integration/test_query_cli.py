"""`exmado jobs create --query` against the sandbox over HTTP: the count is DocuWare's and is
shown, a profile's saved `[query]` is used by `--query` alone, and a query that cannot make a
job is one sentence on stderr with nothing stored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from exmado_tui.config.loading import load_settings
from exmado_tui.sandbox import SandboxServer
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job
from tests.cli_runner import run, run_json
from tests.environment import settings_env

NIGHTLY = """\
cabinet = "Invoices"
[query]
conditions = ["DWSTOREDATETIME=2023-07-01..", "SUPPLIER=*GmbH*"]
[templates]
folder = "{SUPPLIER}"
filename = "{INVOICE_NO}"
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> Path:
    for name, value in settings_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DOCUWARE_URL", sandbox.url)
    monkeypatch.setenv("DOCUWARE_PASSWORD", "demo")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # not needed without --start
    profiles = tmp_path / "user-profiles"
    profiles.mkdir()
    (profiles / "nightly.toml").write_text(NIGHTLY)
    return tmp_path


def day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date()


def test_the_count_is_docuwares_and_is_shown(env: Path, sandbox: SandboxServer, capsys) -> None:
    query = ("--query", "Invoices", "DOC_DATE=2021-01-01..2021-03-31", "AMOUNT=..25000")
    job = run_json(capsys, "jobs", "create", *query, "--profile", "invoices")
    wanted = [
        d
        for d in sandbox.catalogue.documents("Invoices")
        if dt.date(2021, 1, 1) <= day(d.value("DOC_DATE")) <= dt.date(2021, 3, 31)
        and d.value("AMOUNT") <= 25000
    ]
    assert job["config"]["query"]["counted"] == len(wanted) > 0
    assert job["config"]["columns"] == {"Document id": "DWDOCID"}
    assert job["workbook_name"] == "query Invoices: DOC_DATE=2021-01-01..2021-03-31 AMOUNT=..25000"
    code, out, err = run(capsys, "jobs", "create", *query, "--profile", "invoices")
    assert (code, err) == (0, "")
    assert f": PENDING, {len(wanted):,} documents counted; start it with" in out


def test_a_profile_s_saved_query_is_used_by_query_alone(
    env: Path, sandbox: SandboxServer, capsys
) -> None:
    job = run_json(capsys, "jobs", "create", "--query", "--profile", "nightly")
    wanted = [
        d
        for d in sandbox.catalogue.documents("Invoices")
        if day(d.created_ms) >= dt.date(2023, 7, 1) and "gmbh" in d.value("SUPPLIER").lower()
    ]
    assert job["config"]["query"]["conditions"] == [
        "DWSTOREDATETIME=2023-07-01..",
        "SUPPLIER=*GmbH*",
    ]
    assert job["config"]["query"]["counted"] == len(wanted) > 0


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["--query", "Invoices", "SUPPLEIR=ACME*", "--profile", "invoices"],
            "Condition 'SUPPLEIR=ACME*': the search dialog 'Invoice search' has no field "
            "'SUPPLEIR', nor has its cabinet; its fields: INVOICE_NO, SUPPLIER,",
        ),
        (
            ["--query", "Invoices", "DOC_DATE=2021-02-30..", "--profile", "invoices"],
            "DOC_DATE is a date field, and '2021-02-30' is not a date (YYYY-MM-DD).",
        ),
        (
            ["--query", "Invoices", "INVOICE_NO=NO-SUCH-*", "--profile", "invoices"],
            "The query Invoices: INVOICE_NO=NO-SUCH-* finds no document; nothing to export.",
        ),
        (["--query", "--profile", "invoices"], "Profile 'invoices' has no [query]"),
        (["--query"], "--query alone exports a profile's saved [query]: add --profile NAME"),
        (
            ["--query", "Invoices", "DWMODDATETIME=2024-01-01..", "--since-last-run"],
            "--since-last-run adds its own condition on DWMODDATETIME; drop the query's",
        ),
        (
            ["--query", "Invoices", "INVOICE_NO=NO-SUCH-*", "--since-last-run"],
            "The query Invoices: INVOICE_NO=NO-SUCH-*, all (no earlier run) finds no",
        ),
    ],
)
def test_a_query_that_cannot_make_a_job_is_one_sentence(
    env: Path, capsys, argv: list[str], said: str
) -> None:
    code, out, err = run(capsys, "jobs", "create", *argv)
    assert (code, out) == (1, "")
    assert err.startswith("exmado: ") and said in err and err.count("\n") == 1, err
    open_database(load_settings().database_url)
    assert Job.select().count() == 0


def test_since_last_run_is_for_a_query_job(env: Path, capsys) -> None:
    code, _, err = run(capsys, "jobs", "create", "book.xlsx", "--since-last-run")
    assert code == 2 and "--since-last-run is for a query job: add --query." in err
