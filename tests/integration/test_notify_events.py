"""What people hear of besides a job's end: a job stalled or slowed by throttling for long (one
notice an episode, however often it is seen), a drop-folder file rejected; and
`exmado notify test`, which sends one now to a real receiver."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from exmado_tui.config.settings import Settings
from exmado_tui.docuware.errors import OVER, SLOWED
from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.notify import delivery
from exmado_tui.notify.targets import NoticeKind
from exmado_tui.store.db import utcnow
from exmado_tui.store.models import Job, JobEvent, NotifyEvent
from tests.cli_runner import run
from tests.clocks import ManualClock
from tests.drop_folder import prepared_folder, settle
from tests.environment import settings_env
from tests.factories import insert_job
from tests.webhook_receiver import SECRET, Receiver


def notices(kind: NoticeKind) -> list[NotifyEvent]:
    return list(NotifyEvent.select().where(NotifyEvent.kind == kind).order_by(NotifyEvent.id))


def test_a_job_stalled_or_slowed_for_long_is_one_notice_an_episode(store: Settings):
    now = utcnow()
    old = now - timedelta(minutes=20)
    insert_job("a" * 32, "RUNNING", name="stuck", updated_at=old)
    insert_job("b" * 32, "RUNNING", name="moving", updated_at=now)  # progress just now
    JobEvent.create(job="b" * 32, at=old, message=f"{SLOWED}; shared budget 2.0 requests/s.")
    insert_job("c" * 32, "RUNNING", updated_at=now)  # slowed, then over: nothing to say
    JobEvent.create(job="c" * 32, at=old, message=f"{SLOWED}; shared budget 2.0 requests/s.")
    JobEvent.create(job="c" * 32, at=old, message=f"{OVER}: slowed for 30 s.")
    settings = store.notify

    for _ in range(3):  # seen again and again (and by other hosts): still one notice each
        delivery.look_for_attention(settings, now)
    stalled, slowed = notices(NoticeKind.NEEDS_ATTENTION)
    assert (
        stalled.job_id == "a" * 32
        and "no progress for 15 minutes" in stalled.body["data"]["reason"]
    )
    assert slowed.job_id == "b" * 32
    assert slowed.body["data"]["reason"].startswith("slowed by DocuWare throttling for over 15")

    Job.update(status="COMPLETED").where(Job.id != "a" * 32).execute()
    Job.update(updated_at=now).where(Job.id == "a" * 32).execute()  # it moved on, then stalls
    delivery.look_for_attention(settings, now + timedelta(minutes=16))
    assert len(notices(NoticeKind.NEEDS_ATTENTION)) == 3


def test_a_rejected_drop_folder_file_is_a_notice(store: Settings):
    folder = prepared_folder(store, ManualClock())
    (folder.root / "invoices" / "notes.txt").write_text("not a workbook")
    [outcome] = settle(folder, folder.clock)  # type: ignore[arg-type]
    [notice] = notices(NoticeKind.REJECTED)
    data = notice.body["data"]
    assert data["file"] == "notes.txt" and data["reason"] == outcome.reason
    assert data["moved_to"] == str(outcome.moved_to)


def test_notify_test_sends_one_signed_notice_now(tmp_path: Path, capsys, monkeypatch):
    receiver = Receiver(SECRET).start()
    try:
        host = tmp_path / "host.toml"
        host.write_text(
            f'[[notify]]\nname = "ops"\ntype = "webhook"\nurl = "{receiver.url}"\n'
            'secret_env = "HOOK"\n'
        )
        monkeypatch.setenv("HOOK", SECRET)
        code, out, err = run(capsys, "--config", str(host), "notify", "test")
        assert code == 0, err
        [(msg_id, body)] = receiver.received
        assert out == f"✓ ops (webhook): sent {msg_id}\n" and body["type"] == "test"
        receiver.stop()
        code, out, _ = run(capsys, "--config", str(host), "notify", "test", "--target", "ops")
        assert code == 1 and out.startswith("✗ ops (webhook): http://127.0.0.1:")
        code, _, err = run(capsys, "--config", str(host), "notify", "test", "--target", "mail")
        assert code == 2 and "No [[notify]] entry named 'mail' (there are: ops)." in err
    finally:
        receiver.stop()


@pytest.mark.slow
def test_exmado_watch_delivers_while_it_watches(store: Settings, tmp_path: Path):
    """The deliverer runs inside `exmado watch` (what `exmado up` starts): a rejected file and a
    failed job reach the receiver, and the secret is nowhere in what the watcher printed."""
    receiver = Receiver(SECRET).start()
    host = tmp_path / "host.toml"
    host.write_text(
        "[dropfolder]\nstable_s = 0.2\n[notifications]\npoll_s = 0.1\n"
        f'[[notify]]\nname = "ops"\ntype = "webhook"\nurl = "{receiver.url}"\n'
        'secret_env = "HOOK"\n'
    )
    env = {**os.environ, **settings_env(tmp_path), "EXMADO_CONFIG": str(host), "HOOK": SECRET}
    log = tmp_path / "watch.log"  # a file, not a pipe nobody reads until the end: never full
    watcher = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", "watch", "--config", str(host)],
        env={**env, "REDIS_URL": store.broker.url},
        stdout=(written := log.open("w")),
        stderr=subprocess.STDOUT,
    )
    try:
        insert_job("f" * 32, "RUNNING")
        transition("f" * 32, JobStatus.FAILED, last_error="The workbook is gone.")
        (store.dropfolder.path / "invoices").mkdir(parents=True, exist_ok=True)
        (store.dropfolder.path / "invoices" / "notes.txt").write_text("not a workbook")
        deadline = time.monotonic() + 30
        while len(receiver.received) < 2:
            got = [body["type"] for _, body in receiver.received]
            assert time.monotonic() < deadline, f"only {got} arrived: {log.read_text()[-2000:]}"
            time.sleep(0.1)
    finally:
        watcher.terminate()
        watcher.wait(timeout=15)
        written.close()
        receiver.stop()
    output = log.read_text()
    assert sorted(body["type"] for _, body in receiver.received) == [
        "dropfolder.rejected",
        "job.failed",
    ]
    assert "Delivering notifications to ops." in output and "notified ops of job.failed" in output
    assert SECRET not in output
