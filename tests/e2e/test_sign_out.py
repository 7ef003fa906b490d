"""DocuWare licences: a worker process signs out when it stops, and `exmado docuware check`
says how many times the workers signed in during the last hour.

A cookie logon holds a licence seat until it is logged off; the sandbox counts the sessions
ended by Account/Logoff and those still open.
"""

from __future__ import annotations

import signal

from tests.reliability.harness import Exmado


def test_a_stopped_worker_holds_no_seat_and_check_counts_the_workers_sign_ins(
    exmado: Exmado,
) -> None:
    exmado.configure('auth = "cookie"')
    auth, stats = exmado.sandbox.state.auth, exmado.sandbox.stats
    numbers = exmado.sandbox.catalogue.invoice_numbers_with_hits(4)
    exmado.start_worker(threads=1)
    job = exmado.wait(exmado.start_job(exmado.workbook("few.xlsx", numbers)), 60)
    assert job.status.value == "COMPLETED", exmado.worker_logs()[-3000:]
    assert auth.open_sessions == 1  # the worker's one sign-in, shared by its requests

    checked = exmado.cli("docuware", "check")
    assert "Sign-ins by the workers in the last hour: 1" in checked.stdout, checked.stderr
    logged_off = stats.logoffs  # `check` signed in and out by itself

    for worker in exmado.workers:  # as supervisord stops it (`exmado down`): its main process
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert stats.logoffs == logged_off + 1 and auth.open_sessions == 0
