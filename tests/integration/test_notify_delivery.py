"""Notifications over a real webhook: written with the job's move, delivered from the outbox
by the deliverer `exmado watch` runs, signed as Standard Webhooks do (checked by that
package), retried while the receiver is down, and each received exactly once, across a
restart of the deliverer and with two deliverers at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from peewee import fn

from exmado_tui.commands.doctor import notifications
from exmado_tui.config.settings import Settings
from exmado_tui.job.status import JobStatus, RowStatus
from exmado_tui.job.transitions import transition
from exmado_tui.notify import outbox
from exmado_tui.notify.delivery import Deliverer
from exmado_tui.notify.outbox import rejected_data
from exmado_tui.notify.targets import DeliveryState, NoticeKind
from exmado_tui.store.db import open_database, utcnow
from exmado_tui.store.models import JobRow, NotifyDelivery, NotifyEvent
from tests.environment import make_settings
from tests.factories import insert_job
from tests.webhook_receiver import SECRET, Receiver

FAST = """
[notifications]
poll_s = 0.05
timeout_s = 2
retry_first_s = 0.1
retry_max_s = 0.4
give_up_after_s = {give_up}
"""


def host_file(tmp_path: Path, url: str, give_up: float = 60, extra: str = "") -> Path:
    secret = tmp_path / "hook-secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    path = tmp_path / "host.toml"
    path.write_text(
        FAST.format(give_up=give_up)
        + f'[[notify]]\nname = "ops"\ntype = "webhook"\nurl = "{url}"\n'
        + f'secret_file = "{secret.name}"\n{extra}'
    )
    return path


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    down = Receiver(SECRET)
    yield down
    down.stop()


def notify_store(tmp_path: Path, receiver: Receiver, db_url: str = "", **kw: float) -> Settings:
    host = host_file(tmp_path, receiver.url, **kw)
    env = {"EXMADO_DB_URL": db_url} if db_url else {}
    settings = make_settings(tmp_path, EXMADO_CONFIG=str(host), **env)
    open_database(settings.database_url)
    return settings


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url")) if request.param == "postgresql" else ""


def running(stop: threading.Event, settings: Settings) -> threading.Thread:
    thread = threading.Thread(target=Deliverer(settings.notify).run, args=(stop,), daemon=True)
    thread.start()
    return thread


def wait_for(check: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def three_notices() -> dict[str, str]:
    """A job finished with errors, one failed (both real moves), a file rejected; by kind."""
    done = insert_job("a" * 32, "RUNNING", name="invoices", failed_rows=1, total_rows=2)
    JobRow.create(
        job=done,
        row_number=7,
        key="INV-7",
        values={},
        status=RowStatus.FAILED,
        error="DocuWare answered 500",
    )
    transition(done, JobStatus.COMPLETED_WITH_ERRORS)
    failed = insert_job("b" * 32, "RUNNING", name="contracts")
    transition(failed, JobStatus.FAILED, last_error="The workbook is gone.")
    outbox.add(NoticeKind.REJECTED, rejected_data("x.txt", "not a workbook", "/r/x.txt", "h1"))
    return {"job.finished_with_errors": done, "job.failed": failed, "dropfolder.rejected": ""}


def test_a_receiver_down_for_a_while_gets_every_notice_once(
    tmp_path: Path, receiver: Receiver, db_url: str
):
    settings = notify_store(tmp_path, receiver, db_url)
    expected = three_notices()
    first = threading.Event()
    thread = running(first, settings)
    wait_for(lambda: NotifyDelivery.select().where(NotifyDelivery.attempts >= 3).count() == 3)
    [failing] = notifications(settings)
    assert not failing.ok and "3 failing" in failing.detail and "did not answer" in failing.detail
    first.set()
    thread.join(5)  # the deliverer stops (a restart) while the receiver is still down

    receiver.start()
    second = threading.Event()
    both = [running(second, settings), running(second, settings)]  # two hosts, say
    wait_for(lambda: len(receiver.received) >= 3)
    time.sleep(0.3)  # time for a second copy, were one to come
    second.set()
    for thread in both:
        thread.join(5)

    assert receiver.refused == []
    assert len(receiver.ids()) == len(set(receiver.ids())) == 3
    bodies = {body["type"]: body["data"] for _, body in receiver.received}
    assert set(bodies) == set(expected)
    errors = bodies["job.finished_with_errors"]
    assert errors["job_id"] == expected["job.finished_with_errors"]
    assert errors["status"] == "COMPLETED_WITH_ERRORS" and errors["counts"]["failed"] == 1
    assert errors["errors"] == [{"row": 7, "key": "INV-7", "error": "DocuWare answered 500"}]
    assert errors["report"] == "/tmp/out/exmado-report.xlsx"
    assert errors["command"] == "exmado jobs show aaaaaaaa"
    assert bodies["job.failed"]["errors"][0]["error"] == "The workbook is gone."
    assert bodies["dropfolder.rejected"]["file"] == "x.txt"
    [healthy] = notifications(settings)
    assert healthy.ok and "0 waiting" in healthy.detail


def test_a_delivery_failing_past_the_give_up_time_is_given_up(tmp_path: Path, receiver: Receiver):
    # 0.3 s let a loaded machine's first try come past it: given up after one try, not two
    settings = notify_store(tmp_path, receiver, give_up=1.0)
    insert_job("c" * 32, "RUNNING")
    transition("c" * 32, JobStatus.COMPLETED)
    deliverer = Deliverer(settings.notify)
    wait_for(lambda: bool(deliverer.tick() >= 0) and NotifyDelivery.get().state != "pending")
    delivery = NotifyDelivery.get()
    assert delivery.state == DeliveryState.GIVEN_UP and delivery.attempts >= 2
    [given_up] = notifications(settings)
    assert not given_up.ok and "1 given up" in given_up.detail
    receiver.start()
    deliverer.tick()
    assert receiver.received == []


def test_failures_only_skips_a_clean_finish(tmp_path: Path, receiver: Receiver):
    settings = notify_store(tmp_path, receiver.start(), extra="failures_only = true\n")
    for job_id, status in (("d" * 32, JobStatus.COMPLETED), ("e" * 32, JobStatus.FAILED)):
        insert_job(job_id, "RUNNING")
        transition(job_id, status)
    Deliverer(settings.notify).tick()
    assert [body["type"] for _, body in receiver.received] == ["job.failed"]


def test_old_notices_are_forgotten_unless_a_delivery_waits(tmp_path: Path, receiver: Receiver):
    """Notices are written whether or not a host has targets; a month on, they go (but not one
    whose delivery still waits), even on a host without targets."""
    settings = notify_store(tmp_path, receiver)
    for job_id in ("g" * 32, "h" * 32):
        insert_job(job_id, "RUNNING")
        transition(job_id, JobStatus.FAILED)
    Deliverer(settings.notify).fan_out()  # both wait for the receiver, which is down
    NotifyDelivery.update(state=DeliveryState.DELIVERED).where(
        NotifyDelivery.id == NotifyDelivery.select(fn.MIN(NotifyDelivery.id))
    ).execute()
    insert_job("i" * 32, "RUNNING")
    transition("i" * 32, JobStatus.FAILED)  # never fanned out
    later = utcnow() + timedelta(days=31)
    Deliverer(replace(settings.notify, targets=()), clock=lambda: later).tick()
    assert [e.job_id for e in NotifyEvent.select()] == ["h" * 32]
