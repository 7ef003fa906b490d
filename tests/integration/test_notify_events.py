"""What people hear of besides a job's end: a job stalled or slowed by throttling for long (one
notice an episode, however often it is seen), a drop-folder file rejected; and
`exmado notify test`, which sends one now to a real receiver."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from exmado_tui.db import utcnow
from exmado_tui.docuware.throttle_watch import OVER, SLOWED
from exmado_tui.models import Job, JobEvent, NotifyEvent
from exmado_tui.notify import attention
from exmado_tui.notify.kinds import NoticeKind
from exmado_tui.settings import Settings
from tests.cli_runner import run
from tests.clocks import ManualClock
from tests.drop_folder import prepared_folder, settle
from tests.factories import insert_job
from tests.webhook_receiver import Receiver

SECRET = "whsec_OoHjS2fNOWtrRQ1SkHdW5d4Fs2UIzrbK"


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
        attention.look(settings, now)
    stalled, slowed = notices(NoticeKind.NEEDS_ATTENTION)
    assert (
        stalled.job_id == "a" * 32
        and "no progress for 15 minutes" in stalled.body["data"]["reason"]
    )
    assert slowed.job_id == "b" * 32
    assert slowed.body["data"]["reason"].startswith("slowed by DocuWare throttling for over 15")

    Job.update(status="COMPLETED").where(Job.id != "a" * 32).execute()
    Job.update(updated_at=now).where(Job.id == "a" * 32).execute()  # it moved on, then stalls
    attention.look(settings, now + timedelta(minutes=16))
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
