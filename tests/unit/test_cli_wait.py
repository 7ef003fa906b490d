"""`exmado jobs wait`: one line of progress on a terminal, nothing extra when piped."""

from __future__ import annotations

import io
import threading
import time

import pytest

from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from tests.cli_runner import run, run_json
from tests.workbooks import write_workbook


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _cancel_soon(job_id: str, screen: io.StringIO) -> threading.Thread:
    """Cancels the job once `wait` has shown its progress (on a terminal), or after 0.8 s."""

    def cancel() -> None:
        give_up = time.monotonic() + (30 if screen.isatty() else 0.8)
        while "PENDING" not in screen.getvalue() and time.monotonic() < give_up:
            time.sleep(0.05)
        transition(job_id, JobStatus.CANCELLED)

    thread = threading.Thread(target=cancel)
    thread.start()
    return thread


@pytest.mark.parametrize("terminal", [True, False])
def test_wait_shows_progress_only_on_a_terminal(env, tmp_path, capsys, monkeypatch, terminal):
    book = write_workbook(tmp_path / "march.xlsx", [["INV-1"], ["INV-2"]])
    job_id = run_json(capsys, "jobs", "create", str(book), "--profile", "invoices")["id"]
    screen = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr("sys.stderr", screen)
    canceller = _cancel_soon(job_id, screen)
    code, out, _ = run(capsys, "jobs", "wait", job_id)
    canceller.join()
    assert (code, out) == (1, f"Job {job_id[:8]}: CANCELLED\n")
    shown = screen.getvalue()
    if not terminal:
        assert shown == ""
        return
    assert f"\r\x1b[K{job_id[:8]} PENDING 0/0 rows (0%): 0 found, 0 not found, 0 failed" in shown
    assert shown.endswith("\r\x1b[K")  # the line is gone once the job has ended
