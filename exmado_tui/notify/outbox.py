"""The outbox: a notice is a row in the store, written in the transaction of the change it
tells of (a job's move, a file rejected), so it is neither lost nor told of a change that did
not happen. Writing one sends nothing: `delivery.py` does, later, in another process.

A notice found by looking (a job stalled or slowed, `attention.py`) has a `key` naming what was
seen; its message id comes from that key, so seeing the same thing again, on any host, adds
nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from exmado_tui.notify.kinds import NoticeKind
from exmado_tui.notify.notices import body, job_data
from exmado_tui.store.db import utcnow
from exmado_tui.store.models import NotifyEvent


def message_id(key: str = "") -> str:
    """A Standard Webhooks message id: from `key` when given (the same key, the same id)."""
    unique = hashlib.sha256(key.encode()).hexdigest()[:32] if key else uuid.uuid4().hex
    return f"msg_{unique}"


def add(
    kind: NoticeKind, data: dict[str, Any], *, job_id: str | None = None, key: str = ""
) -> bool:
    """Write a notice; False when one with the same `key` is already there."""
    now, msg_id = utcnow(), message_id(key)
    if key and NotifyEvent.select().where(NotifyEvent.message_id == msg_id).exists():
        return False
    row = {
        "message_id": msg_id,
        "kind": kind,
        "job_id": job_id,
        "body": body(kind, now, data),
        "created_at": now,
    }
    # Another host may have seen the same thing meanwhile: the unique message id keeps one.
    NotifyEvent.insert(**row).on_conflict_ignore().execute()
    return True


def add_for_job(job_id: str, kind: NoticeKind, reason: str = "", key: str = "") -> bool:
    """A notice about a job, its body the job as it stands (call it inside the move's
    transaction, so the counts are the ones the move left)."""
    return add(kind, job_data(job_id, kind, reason), job_id=job_id, key=key)
