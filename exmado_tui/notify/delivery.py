"""Notices delivered: one sent to one target, the outbox drained, and how it goes. Each notice
to each `[[notify]]` target, tried until the target takes it, with a growing pause between
tries, and given up a day (`give_up_after_s`) after it was written.

Sending one notice to one target (`send`): to a webhook, its JSON body POSTed with the three
Standard Webhooks headers (`post_webhook`); by e-mail, a plain-text mail through the target's
SMTP server, STARTTLS before the login, the server's certificate checked, against `ca_bundle`
when set (`send_mail`). Either raises `DeliveryError` when the target did not take it.
`webhook-signature` is `v1,` and the base64 HMAC-SHA256, under the secret's key, of
`{webhook-id}.{webhook-timestamp}.{body}` (standardwebhooks.com). The few lines of hmac here
rather than the `standardwebhooks` package: it adds nothing to them, and the tests check these
signatures with that package, so the signer and the checker are not the same code.

`exmado watch` runs a `Deliverer` in a thread of its own, so no job ever waits for a receiver.
Everything it knows is in the store, so a restart loses nothing: a notice is fanned out to the
targets once (a conditional UPDATE), and a delivery is sent by whoever leases it (another
conditional UPDATE), so deliverers on several hosts never send one twice. A deliverer killed
between sending and recording sends again after the lease: the same `webhook-id`, which the
receiver de-duplicates (Standard Webhooks' at-least-once).

Before that, each tick looks for jobs that need a person without having moved
(`look_for_attention`): running with no progress for `stalled_after_min`, or slowed by
DocuWare throttling for `throttled_after_min`. Nothing moves such a job, so nothing else would
tell of it. A notice's key names the episode (the job's last progress; the event that began the
throttling), so one episode is one notice, however often and on however many hosts it is
seen. (A pause for a full disk is a move: `transitions.transition` writes its notice.)

`overview` says how delivery goes, target by target, read from the outbox: what `exmado doctor`
and the dashboard's Workers screen say about notifications.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx

from exmado_tui.docuware.errors import OVER, SLOWED
from exmado_tui.errors import DeliveryError
from exmado_tui.job.status import JobStatus
from exmado_tui.notify import outbox
from exmado_tui.notify.targets import (
    DeliveryState,
    EmailTarget,
    NoticeKind,
    NotifySettings,
    Target,
    WebhookTarget,
)
from exmado_tui.store.db import database, utcnow
from exmado_tui.store.models import Job, JobEvent, NotifyDelivery, NotifyEvent, delete_rows

LOGGER = "exmado.notify"
log = logging.getLogger(LOGGER)
BATCH = 50
KEEP_DAYS = 30  # delivered and given-up notices are deleted after this
PRUNE_EVERY = timedelta(hours=1)


# -- one notice to one target ------------------------------------------------------------------


def send(target: Target, message_id: str, body: dict[str, Any], timeout_s: float) -> None:
    """One notice to one target, now; DeliveryError when it does not take it."""
    if isinstance(target, EmailTarget):
        send_mail(target, message_id, body, timeout_s)
    else:
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        post_webhook(target, message_id, raw, timeout_s)


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(target: WebhookTarget, message_id: str, body: bytes) -> dict[str, str]:
    """Signed now: a receiver refuses a timestamp far from its clock, so a retry signs again."""
    timestamp = int(time.time())
    return {
        "content-type": "application/json",
        "user-agent": "exmado",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(target.key, message_id, timestamp, body),
    }


def post_webhook(target: WebhookTarget, message_id: str, body: bytes, timeout_s: float) -> None:
    """POST the body; any answer but 2xx (or no answer) is a DeliveryError."""
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
            signed = headers(target, message_id, body)
            answer = client.post(target.url, content=body, headers=signed)
    except httpx.HTTPError as exc:
        where = _origin(target.url)
        raise DeliveryError(f"{where} did not answer ({type(exc).__name__}: {exc})") from None
    if not answer.is_success:
        raise DeliveryError(f"{_origin(target.url)} answered {answer.status_code}")


def _origin(url: str) -> str:
    """The URL without its path or query, which may carry a token (Slack's hooks do)."""
    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.netloc.decode()}"


SUBJECT_CHARS = 200  # one line; the body says it whole


def mail_message(target: EmailTarget, message_id: str, body: dict[str, Any]) -> EmailMessage:
    """The summary as subject, then every fact of the body as `key: value` lines; the
    Message-ID is the notice's, so a mail system can tell a repeat."""
    data = body["data"]
    mail = EmailMessage()
    mail["Subject"] = "Éxmado: " + " ".join(data["summary"].split())[:SUBJECT_CHARS]
    mail["From"] = target.sender
    mail["To"] = ", ".join(target.to)
    mail["Message-ID"] = f"<{message_id}@exmado>"
    lines = [data["summary"], ""]
    for key, value in data.items():
        if key != "summary" and value not in ("", None, [], {}):
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            lines.append(f"{key}: {shown}")
    mail.set_content("\n".join(lines) + "\n")
    return mail


def send_mail(target: EmailTarget, message_id: str, body: dict[str, Any], timeout_s: float) -> None:
    mail = mail_message(target, message_id, body)
    where = f"SMTP server {target.host}:{target.port}"
    try:
        with smtplib.SMTP(target.host, target.port, timeout=timeout_s) as smtp:
            if target.starttls:
                context = ssl.create_default_context(cafile=target.ca_bundle or None)
                smtp.starttls(context=context)
            if target.username:
                smtp.login(target.username, target.password.reveal())
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        refused = f"{where} refused the login of {target.username!r} ({exc.smtp_code})"
        raise DeliveryError(refused) from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None


# -- the outbox drained ------------------------------------------------------------------------


def wants(target: Target, kind: NoticeKind) -> bool:
    return kind.is_failure or not target.failures_only


def look_for_attention(settings: NotifySettings, now: datetime) -> None:
    if settings.stalled_after_min:
        stalled(now - timedelta(minutes=settings.stalled_after_min), settings.stalled_after_min)
    if settings.throttled_after_min:
        slowed(now - timedelta(minutes=settings.throttled_after_min), settings.throttled_after_min)


def stalled(before: datetime, minutes: float) -> None:
    """Running jobs whose rows and counters have not changed since `before`."""
    jobs = Job.select(Job.id, Job.updated_at).where(
        (Job.status == JobStatus.RUNNING) & (Job.updated_at < before)
    )
    for job in jobs:
        reason = f"no progress for {minutes:g} minutes (since {job.updated_at:%H:%M} UTC)"
        key = f"stalled:{job.id}:{job.updated_at.isoformat()}"
        outbox.add_for_job(job.id, NoticeKind.NEEDS_ATTENTION, reason, key=key)


def slowed(before: datetime, minutes: float) -> None:
    """Running jobs whose last throttling sentence is an episode's start older than `before`."""
    running = Job.select(Job.id).where(Job.status == JobStatus.RUNNING)
    for job in running:
        last = (
            JobEvent.select(JobEvent.id, JobEvent.at, JobEvent.message)
            .where(
                (JobEvent.job == job.id)
                & (JobEvent.message.startswith(SLOWED) | JobEvent.message.startswith(OVER))
            )
            .order_by(JobEvent.id.desc())
            .first()
        )
        if last is not None and last.message.startswith(SLOWED) and last.at < before:
            reason = f"slowed by DocuWare throttling for over {minutes:g} minutes: {last.message}"
            key = f"throttled:{job.id}:{last.id}"
            outbox.add_for_job(job.id, NoticeKind.NEEDS_ATTENTION, reason, key=key)


class Deliverer:
    """Fans notices out to this host's targets and sends what is due (`tick`, or `run`)."""

    def __init__(self, settings: NotifySettings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.lease = timedelta(seconds=max(60.0, 4 * settings.timeout_s))
        self._pruned_at: datetime | None = None

    def run(self, stop: threading.Event) -> None:
        """`tick` every `poll_s` until `stop`; a failing tick (the store away) is logged."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception as exc:
                log.warning("notifications: the outbox could not be read (%s)", exc)
            stop.wait(self.settings.poll_s)

    def tick(self) -> int:
        """Look for jobs needing attention, fan out new notices, send what is due; how many
        deliveries were tried. Without targets it only forgets old notices (they are written
        whether or not a host has targets: the job's move does not know the settings)."""
        self._prune()
        if not self.settings.targets:
            return 0
        look_for_attention(self.settings, self.clock())
        self.fan_out()
        tried = 0
        for delivery_id in self._due():
            if self._lease(delivery_id):
                self._deliver(delivery_id)
                tried += 1
        return tried

    def fan_out(self) -> None:
        """One delivery row per target for each new notice, written once whoever runs this."""
        fresh = NotifyEvent.select(NotifyEvent.id, NotifyEvent.kind).where(~NotifyEvent.fanned_out)
        for event in fresh.order_by(NotifyEvent.id).limit(BATCH * 4):
            with database.atomic():
                claimed = NotifyEvent.update(fanned_out=True).where(
                    (NotifyEvent.id == event.id) & ~NotifyEvent.fanned_out
                )
                if claimed.execute() != 1:
                    continue
                now = self.clock()
                rows = [
                    {"event": event.id, "target": t.name, "next_at": now}
                    for t in self.settings.targets
                    if wants(t, event.kind)
                ]
                if rows:
                    NotifyDelivery.insert_many(rows).on_conflict_ignore().execute()

    def _free(self, now: datetime) -> Any:
        return NotifyDelivery.lease_until.is_null() | (NotifyDelivery.lease_until < now)

    def _due(self) -> list[int]:
        now = self.clock()
        names = [t.name for t in self.settings.targets]
        query = (
            NotifyDelivery.select(NotifyDelivery.id)
            .where(
                (NotifyDelivery.state == DeliveryState.PENDING)
                & (NotifyDelivery.next_at <= now)
                & NotifyDelivery.target.in_(names)
                & self._free(now)
            )
            .order_by(NotifyDelivery.next_at, NotifyDelivery.id)
            .limit(BATCH)
        )
        return [row.id for row in query]

    def _lease(self, delivery_id: int) -> bool:
        """Take the delivery for `lease` (a conditional UPDATE: one deliverer wins)."""
        now = self.clock()
        taken = NotifyDelivery.update(lease_until=now + self.lease).where(
            (NotifyDelivery.id == delivery_id)
            & (NotifyDelivery.state == DeliveryState.PENDING)
            & self._free(now)
        )
        return bool(taken.execute() == 1)

    def _deliver(self, delivery_id: int) -> None:
        delivery = NotifyDelivery.get_by_id(delivery_id)
        event: NotifyEvent = delivery.event
        target = self.settings.target(delivery.target)
        assert target is not None  # _due picks this host's targets only
        try:
            send(target, event.message_id, event.body, self.settings.timeout_s)
        except DeliveryError as exc:
            self._failed(delivery, event, str(exc))
            return
        NotifyDelivery.update(
            state=DeliveryState.DELIVERED,
            delivered_at=self.clock(),
            attempts=NotifyDelivery.attempts + 1,
            lease_until=None,
            last_error="",
        ).where(NotifyDelivery.id == delivery_id).execute()
        log.info("notified %s of %s (%s)", target.name, event.kind, event.message_id)

    def _failed(self, delivery: NotifyDelivery, event: NotifyEvent, error: str) -> None:
        """Try again after the next pause of the backoff, at the latest at the give-up time;
        give up once that has passed."""
        now, attempts = self.clock(), delivery.attempts + 1
        deadline = event.created_at + timedelta(seconds=self.settings.give_up_after_s)
        pause = min(self.settings.retry_first_s * 2 ** (attempts - 1), self.settings.retry_max_s)
        state = DeliveryState.GIVEN_UP if now >= deadline else DeliveryState.PENDING
        NotifyDelivery.update(
            state=state,
            attempts=attempts,
            next_at=min(now + timedelta(seconds=pause), deadline),
            lease_until=None,
            last_error=error,
        ).where(NotifyDelivery.id == delivery.id).execute()
        then = "given up" if state is DeliveryState.GIVEN_UP else f"next try in {pause:g} s"
        log.warning(
            "notifying %s of %s failed (try %d): %s; %s",
            delivery.target,
            event.kind,
            attempts,
            error,
            then,
        )

    def _prune(self) -> None:
        """Forget notices written more than KEEP_DAYS ago that wait for no delivery (their
        deliveries go with them)."""
        now = self.clock()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        pending = NotifyDelivery.select(NotifyDelivery.event).where(
            NotifyDelivery.state == DeliveryState.PENDING
        )
        old = NotifyEvent.created_at < now - timedelta(days=KEEP_DAYS)
        delete_rows(NotifyEvent, old & NotifyEvent.id.not_in(pending))


# A notice not fanned out after this long: no deliverer runs (`exmado watch`, under `exmado up`).
UNSENT_AFTER = timedelta(minutes=2)
RECENT = timedelta(days=1)  # a delivery given up is reported this long


@dataclass(frozen=True)
class TargetHealth:
    """One target: notices waiting, failing now, given up lately, its last error and success."""

    name: str
    kind: str
    waiting: int
    failing: int
    given_up: int
    last_error: str
    last_delivered: datetime | None

    @property
    def ok(self) -> bool:
        return not self.failing and not self.given_up

    @property
    def sentence(self) -> str:
        if self.ok:
            when = f"{self.last_delivered:%Y-%m-%d %H:%M} UTC" if self.last_delivered else "never"
            return f"{self.name} ({self.kind}): last delivered {when}, {self.waiting} waiting"
        parts = [f"{self.failing} failing"] if self.failing else []
        parts += [f"{self.given_up} given up in the last day"] if self.given_up else []
        return f"{self.name} ({self.kind}): {', '.join(parts)} — {self.last_error}"


def overview(settings: NotifySettings, now: datetime) -> tuple[list[TargetHealth], int]:
    """Each target's health, and the notices no deliverer took up (none without targets)."""
    if not settings.targets:
        return [], 0
    return health(settings, now), unsent(now)


def unsent(now: datetime) -> int:
    """Notices older than UNSENT_AFTER that no deliverer has taken up."""
    old = NotifyEvent.created_at < now - UNSENT_AFTER
    return int(NotifyEvent.select().where(~NotifyEvent.fanned_out & old).count())


def health(settings: NotifySettings, now: datetime) -> list[TargetHealth]:
    return [_target(target, now) for target in settings.targets]


def _target(target: Target, now: datetime) -> TargetHealth:
    mine = NotifyDelivery.target == target.name
    pending = mine & (NotifyDelivery.state == DeliveryState.PENDING)
    failing = pending & (NotifyDelivery.attempts > 0)
    given_up = (
        mine
        & (NotifyDelivery.state == DeliveryState.GIVEN_UP)
        & (NotifyDelivery.next_at > now - RECENT)
    )
    last_error = (
        NotifyDelivery.select(NotifyDelivery.last_error)
        .where((failing | given_up) & (NotifyDelivery.last_error != ""))
        .order_by(NotifyDelivery.next_at.desc())
        .scalar()
    )
    delivered = (
        NotifyDelivery.select(NotifyDelivery.delivered_at)
        .where(mine & NotifyDelivery.delivered_at.is_null(False))
        .order_by(NotifyDelivery.delivered_at.desc())
        .first()
    )
    return TargetHealth(
        name=target.name,
        kind=str(target.kind),
        waiting=NotifyDelivery.select().where(pending).count(),
        failing=NotifyDelivery.select().where(failing).count(),
        given_up=NotifyDelivery.select().where(given_up).count(),
        last_error=last_error or "",
        last_delivered=delivered.delivered_at if delivered else None,
    )
