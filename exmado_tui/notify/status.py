"""How delivery goes, target by target, read from the outbox: what `exmado doctor` and the
dashboard's Workers screen say about notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from exmado_tui.notify.kinds import DeliveryState
from exmado_tui.notify.targets import NotifySettings, Target
from exmado_tui.store.models import NotifyDelivery, NotifyEvent

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
