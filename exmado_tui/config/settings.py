"""The effective configuration as frozen dataclasses, a section each, and the same shown without
its secrets (`masked`, `mask_url`). How it is read and checked: `loading.py`.

Also the zone times are shown in (they are stored in UTC): `timezone`, else the machine's —
`$TZ` when it names a zone, else the zone `/etc/localtime` is (a link into the zone database,
or a copy of one of its files), else UTC — and how a zone is named to people.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exmado_tui.config.layers import PATH_IS_SECRET
from exmado_tui.config.layers import Secret as Secret
from exmado_tui.notify.targets import NotifySettings
from exmado_tui.schedule.entries import ScheduleEntry
from exmado_tui.workbook.checks import WorkbookLimits

# DocuWare's built-in public OAuth client; an app registration has an id of its own.
PUBLIC_CLIENT_ID = "docuware.platform.net.client"
AUTH_MODES = ("auto", "oauth", "cookie", "client_credentials")
PLATFORM = "/DocuWare/Platform"  # the REST API's path on the server `[docuware] url` names


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    busy_timeout_s: float = 10
    password: Secret = field(default_factory=lambda: Secret(""))


@dataclass(frozen=True)
class BrokerSettings:
    url: str
    password: Secret = field(default_factory=lambda: Secret(""))
    heartbeat_timeout_s: float = 60


@dataclass(frozen=True)
class DocuWareSettings:
    url: str
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    organization: str = ""
    auth: str = "auto"
    client_id: str = PUBLIC_CLIENT_ID
    client_secret: Secret = field(default_factory=lambda: Secret(""))
    scope: str = "docuware.platform"
    verify_tls: bool = True
    ca_bundle: str = ""
    timeout_s: float = 30
    max_json_mb: float = 8  # one JSON answer (a search page), decompressed
    min_rate_kb_s: float = 1  # a body slower than this over min_rate_window_s is cut (0: never)
    min_rate_window_s: float = 60
    max_connections: int = 20
    max_attempts: int = 5
    throttle_default_wait_s: float = 60
    max_requests_per_s: float = 0  # an administrator's cap; 0: none, the rate is learned
    shared_budget: bool = True
    logons_per_min: int = 60
    cabinet_lists_per_min: int = 60

    @property
    def signer(self) -> str:
        """Who signs in, for messages: `'alice'`, or the app registration by its client id."""
        if self.auth == "client_credentials":
            return f"the app registration (client id {self.client_id!r})"
        return repr(self.username)


@dataclass(frozen=True)
class JobsSettings:
    max_concurrent_jobs: int = 3
    job_timeout_s: float = 7200
    row_concurrency: int = 16
    output_root: Path = Path("~/exmado-output").expanduser()
    heartbeat_s: float = 5
    stale_after_s: float = 60
    default_profile: str = ""  # for job payloads that name no profile (`--from-json`)
    unzip_member_max_mb: float = 2048  # a ZIP from DocuWare: its largest member, unpacked
    unzip_total_max_mb: float = 8192  # and all its members together
    max_document_mb: float = 2048  # one download, decompressed
    since_overlap_s: float = 300  # `--since-last-run` looks this far before the last run


class Duplicates(StrEnum):
    """What the drop folder does with a workbook whose content (SHA-256) made a job before."""

    REJECT = "reject"
    ACCEPT = "accept"


@dataclass(frozen=True)
class DropFolderSettings:
    path: Path
    archive: str = "archive"
    rejected: str = "rejected"
    stable_s: float = 2
    poll: bool = False
    duplicates: Duplicates = Duplicates.REJECT


@dataclass(frozen=True)
class ServeSettings:
    """`exmado serve`: the token a browser brings (empty = a fresh one each start), the browser
    sessions at once (each runs a dashboard process), the largest workbook a browser uploads."""

    token: Secret = field(default_factory=lambda: Secret(""))
    sessions: int = 3
    upload_max_mb: float = 20


@dataclass(frozen=True)
class MetricsSettings:
    """Prometheus metrics of this host's workers: `listen` is `HOST:PORT`, empty = off."""

    listen: str = ""

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) to bind; `[::1]:9464` gives `::1`."""
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def url(self) -> str:
        return f"http://{self.listen}/metrics"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    timezone: str
    database: DatabaseSettings
    broker: BrokerSettings
    docuware: DocuWareSettings
    jobs: JobsSettings
    dropfolder: DropFolderSettings
    profiles_dir: Path
    user_profiles_dir: Path
    sources: tuple[str, ...] = ()
    host_name: str = ""
    workbooks: WorkbookLimits = field(default_factory=WorkbookLimits)
    serve: ServeSettings = field(default_factory=ServeSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    schedule: tuple[ScheduleEntry, ...] = ()
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    @property
    def host(self) -> str:
        """How this machine names itself to the others: `host_name`, else its hostname."""
        return self.host_name or socket.gethostname()

    @property
    def profile_dirs(self) -> tuple[Path, ...]:
        """Where profiles are looked up, the user's own first; saving writes into the first."""
        return tuple(dict.fromkeys((self.user_profiles_dir, self.profiles_dir)))

    @cached_property
    def zone(self) -> ZoneInfo:
        """Where times are shown: `timezone`, else the machine's zone (read once)."""
        return ZoneInfo(self.timezone) if self.timezone else system_zone()

    @property
    def upload_inbox(self) -> Path:
        """Where `exmado serve` keeps workbooks uploaded from a browser for new jobs."""
        return self.data_dir / "inbox"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'exmado.db'}"


def masked(settings: Settings) -> dict[str, Any]:
    """The settings as plain data for display, secrets masked and URLs stripped of passwords."""
    return _plain(settings)


def _plain(value: Any) -> Any:
    if is_dataclass(value):
        return {
            f.name: _host_only(getattr(value, f.name))
            if f.metadata.get(PATH_IS_SECRET)
            else _plain(getattr(value, f.name))
            for f in fields(value)
        }
    if isinstance(value, Secret):
        return "***" if value else ""
    if isinstance(value, Path | StrEnum):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def _host_only(url: str) -> str:
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return shown + "/…" if (parts.path.strip("/") or parts.query) else shown


QUERY_PASSWORD = re.compile(r"(^|&)(password=)[^&]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """Hide the password of a URL such as redis://:secret@host/0 or redis://host/0?password=x."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(a malformed URL)"
    query = QUERY_PASSWORD.sub(r"\1\2***", parts.query)
    if not parts.password and query == parts.query:
        return url
    netloc = parts.netloc
    if parts.password:
        user = parts.username or ""
        netloc = f"{user}:***@{netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# -- time zones ---------------------------------------------------------------------------------

LOCALTIME = Path("/etc/localtime")


def system_zone(localtime: Path = LOCALTIME) -> ZoneInfo:
    """The zone this process's clock shows (see the module docstring)."""
    name = os.environ.get("TZ", "").removeprefix(":")
    if name.startswith("/"):
        return _from_file(Path(name)) or ZoneInfo("UTC")
    if name:
        return _named(name) or ZoneInfo("UTC")
    return _from_file(localtime) or ZoneInfo("UTC")


def zone_name(zone: ZoneInfo) -> str:
    """`America/Tegucigalpa`; a zone read from a file without a name, by its abbreviation."""
    return zone.key or zone_abbreviation(zone)


def zone_abbreviation(zone: ZoneInfo, at: datetime | None = None) -> str:
    """`CST`, `UTC`, or the offset where the zone has no abbreviation (`-03`), at `at` (now)."""
    return (at or datetime.now(UTC)).astimezone(zone).strftime("%Z")


def _named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _from_file(path: Path) -> ZoneInfo | None:
    """The zone of a tzfile: by its name when it is (a link to) a file of the zone database."""
    try:
        target = str(path.resolve(strict=True))
    except OSError:
        return None
    if "/zoneinfo/" in target and (zone := _named(target.split("/zoneinfo/", 1)[1])):
        return zone
    try:
        with path.open("rb") as data:
            return ZoneInfo.from_file(data)
    except (OSError, ValueError):
        return None
