"""`exmado jobs delete` asks on a terminal, takes --yes, and refuses without a terminal."""

from __future__ import annotations

import io

import pytest

from exmado_tui.store.models import Job
from tests.cli_runner import run, run_json
from tests.workbooks import write_workbook


class Terminal(io.StringIO):
    """Stdin as a person at a terminal types it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def job_id(env, tmp_path, capsys) -> str:
    book = write_workbook(tmp_path / "march.xlsx", [["INV-1"]])
    return run_json(capsys, "jobs", "create", str(book), "--profile", "invoices")["id"]


@pytest.mark.parametrize(("answer", "code", "left"), [("y\n", 0, 0), ("n\n", 1, 1), ("\n", 1, 1)])
def test_delete_asks_on_a_terminal(job_id, capsys, monkeypatch, answer, code, left):
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    result, out, _ = run(capsys, "jobs", "delete", job_id[:8])
    assert out.startswith(f"Delete job {job_id[:8]} (march, PENDING)? [y/N] ")
    assert (result, Job.select().count()) == (code, left)
    assert ("Nothing deleted." in out) == (code == 1)


def test_delete_without_a_terminal_needs_yes(job_id, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    code, out, err = run(capsys, "jobs", "delete", job_id)
    assert (code, out) == (2, "")
    assert err == (
        f"exmado: Deleting job {job_id[:8]} needs a yes and there is no terminal to ask on; "
        "pass --yes.\n"
    )
    assert Job.select().count() == 1
    code, out, _ = run(capsys, "jobs", "delete", job_id, "--yes")
    assert code == 0 and out.startswith(f"Deleted job {job_id[:8]}")
    assert Job.select().count() == 0
