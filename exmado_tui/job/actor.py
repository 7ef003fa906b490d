"""Who acts on a job and from where: the OS user, the SSH client's address when there is one,
the host, and the door (the CLI, the dashboard, the browser, the drop folder, a schedule).

Every control action's event names its actor (`exmado jobs events`, the dashboard's events
tab); the job keeps who created and who started it for its manifest; a deletion, which takes
the job's events with it, is written to `audit.log` in the data folder.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

AUDIT_LOG = "audit.log"
PART = 64  # characters of a user, host or address kept: an actor fits the store's 255
# Set by `exmado serve` for the dashboards it starts: their actions came through a browser.
BROWSER_ENV = "EXMADO_BROWSER_SESSION"


class Door(StrEnum):
    """The way an action came in."""

    CLI = "CLI"
    DASHBOARD = "dashboard"
    BROWSER = "browser"
    DROP_FOLDER = "drop folder"
    SCHEDULE = "schedule"


@dataclass(frozen=True)
class Actor:
    user: str
    host: str
    door: Door
    ssh_from: str = ""  # the SSH client's address, when the session came over SSH

    @classmethod
    def here(cls, door: Door, host: str, environ: Mapping[str, str] = os.environ) -> Actor:
        """This process's user, on `host`, through `door` (the browser's, for a dashboard
        that `exmado serve` started)."""
        if door is Door.DASHBOARD and environ.get(BROWSER_ENV):
            door = Door.BROWSER
        ssh = environ.get("SSH_CONNECTION", "").split()
        return cls(_user()[:PART], host[:PART], door, ssh[0][:PART] if ssh else "")

    def __str__(self) -> str:
        """`ana from 10.0.0.5 on web1 (CLI)`."""
        where = f" from {self.ssh_from}" if self.ssh_from else ""
        return f"{self.user}{where} on {self.host} ({self.door})"


def audit_line(data_dir: Path, text: str) -> None:
    """Append `text` to the data folder's audit log: the record of an action whose job (and
    its events) it removed."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    with (data_dir / AUDIT_LOG).open("a", encoding="utf-8") as log:
        log.write(f"{stamp}  {text}\n")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid with no name (a container)
        return f"uid {os.getuid()}"
