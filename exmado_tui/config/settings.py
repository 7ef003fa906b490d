"""Effective configuration: defaults file < host file < environment, as frozen dataclasses."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exmado_tui import resources
from exmado_tui.config.layers import (
    LayerReader,
    apply_environment,
    check_layout,
    merge,
    read_toml,
)
from exmado_tui.config.secret import PATH_IS_SECRET, read_secret_file
from exmado_tui.config.secret import Secret as Secret
from exmado_tui.config.timezones import system_zone
from exmado_tui.errors import SettingsError
from exmado_tui.notify.targets import NotifySettings, read_notify
from exmado_tui.schedule.entries import ScheduleEntry, read_schedule
from exmado_tui.services import localredis
from exmado_tui.workbook.guard import WorkbookLimits

DEFAULTS_FILE = resources.path("config", "exmado.toml")
USER_CONFIG_FILE = Path("~/.config/exmado/exmado.toml").expanduser()

# Keys holding paths, secret files included: a relative value is taken from the folder of the
# file that sets it (layers.read_toml), wherever the command runs from.
PATH_KEYS = {
    ("data_dir",),
    ("jobs", "output_root"),
    ("dropfolder", "path"),
    ("profiles", "dir"),
    ("profiles", "user_dir"),
    ("database", "password_file"),
    ("broker", "password_file"),
    ("docuware", "password_file"),
    ("docuware", "client_secret_file"),
    ("docuware", "ca_bundle"),
    ("serve", "token_file"),
}

# DocuWare's built-in public OAuth client; an app registration has an id of its own.
PUBLIC_CLIENT_ID = "docuware.platform.net.client"
AUTH_MODES = ("auto", "oauth", "cookie", "client_credentials")
# DocuWare answers a throttled request only after ~10 s; a shorter timeout turns 429 into timeouts.
MIN_DOCUWARE_TIMEOUT_S = 15


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


# A fixed serve token shorter than this is refused: it guards every control action.
MIN_SERVE_TOKEN_CHARS = 16


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


# Environment variable → (section, key). Later entries win over earlier ones.
ENV_KEYS: dict[str, tuple[str, ...]] = {
    "EXMADO_DATA_DIR": ("data_dir",),
    "EXMADO_TIMEZONE": ("timezone",),
    "EXMADO_HOST_NAME": ("host_name",),
    "EXMADO_DB_URL": ("database", "url"),
    "REDIS_URL": ("broker", "url"),
    "EXMADO_BROKER_URL": ("broker", "url"),
    "DOCUWARE_URL": ("docuware", "url"),
    "DOCUWARE_USERNAME": ("docuware", "username"),
    "DOCUWARE_ORGANIZATION": ("docuware", "organization"),
    "DOCUWARE_AUTH": ("docuware", "auth"),
    "DOCUWARE_CLIENT_ID": ("docuware", "client_id"),
    "DOCUWARE_VERIFY_TLS": ("docuware", "verify_tls"),
    "MAX_CONCURRENT_JOBS": ("jobs", "max_concurrent_jobs"),
    "JOB_TIMEOUT": ("jobs", "job_timeout_s"),
    "EXMADO_OUTPUT_ROOT": ("jobs", "output_root"),
    "EXMADO_DROP_FOLDER": ("dropfolder", "path"),
    "EXMADO_PROFILES_DIR": ("profiles", "dir"),
    "EXMADO_METRICS_LISTEN": ("metrics", "listen"),
    "EXMADO_USER_PROFILES_DIR": ("profiles", "user_dir"),
}
# Keys a host file may hold although the defaults file does not list them: secrets get their own
# sentence ("set DOCUWARE_PASSWORD or password_file instead") rather than "unknown key".
UNLISTED_KEYS = (
    ("docuware", "password"),
    ("docuware", "client_secret"),
    ("broker", "password"),
    ("database", "password"),
    ("serve", "token"),
)
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql")


def load_settings(
    config: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the defaults, the host file and the environment; raise SettingsError when wrong."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    sources = [str(DEFAULTS_FILE)]
    defaults = read_toml(DEFAULTS_FILE, PATH_KEYS)
    merge(merged, defaults)
    host = _host_file(config, env)
    if host is not None:
        sources.append(str(host))
        layer = read_toml(host, PATH_KEYS)
        check_layout(layer, defaults, str(host), UNLISTED_KEYS)
        merge(merged, layer)
    _apply_environment(merged, env)
    return _build(merged, env, tuple(sources))


def _host_file(config: str | Path | None, env: Mapping[str, str]) -> Path | None:
    """The host file, as an absolute path without `..` (the paths it anchors are shown)."""
    if config:
        path = Path(os.path.abspath(Path(config).expanduser()))
        if not path.is_file():
            raise SettingsError(f"Config file {path} (from --config) does not exist.")
        return path
    if env.get("EXMADO_CONFIG"):
        path = Path(os.path.abspath(Path(env["EXMADO_CONFIG"]).expanduser()))
        if not path.is_file():
            raise SettingsError(f"Config file {path} (from EXMADO_CONFIG) does not exist.")
        return path
    return USER_CONFIG_FILE if USER_CONFIG_FILE.is_file() else None


def _apply_environment(merged: dict[str, Any], env: Mapping[str, str]) -> None:
    apply_environment(merged, env, ENV_KEYS)
    _apply_redis_parts(merged, env)


def _apply_redis_parts(merged: dict[str, Any], env: Mapping[str, str]) -> None:
    """REDIS_HOST / REDIS_PORT / REDIS_DB patch the broker URL unless a full URL was given."""
    if env.get("REDIS_URL") or env.get("EXMADO_BROKER_URL"):
        return
    if not any(env.get(n) for n in ("REDIS_HOST", "REDIS_PORT", "REDIS_DB")):
        return
    broker = merged.setdefault("broker", {})
    parts = urlsplit(broker.get("url", "redis://127.0.0.1:6379/0"))
    host = env.get("REDIS_HOST") or parts.hostname or "127.0.0.1"
    port = env.get("REDIS_PORT") or str(parts.port or 6379)
    db = env.get("REDIS_DB") or parts.path.lstrip("/") or "0"
    broker["url"] = urlunsplit((parts.scheme or "redis", f"{host}:{port}", f"/{db}", "", ""))
    broker.setdefault("__env__", {})["url"] = "REDIS_HOST/REDIS_PORT/REDIS_DB"


def _build(merged: dict[str, Any], env: Mapping[str, str], sources: tuple[str, ...]) -> Settings:
    reader = LayerReader(merged)
    tz = reader.text((), "timezone")
    try:
        ZoneInfo(tz or "UTC")  # empty: the machine's zone
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            reader.where((), "timezone") + f" is not a known time zone: {tz!r}."
        ) from None
    data_dir = reader.path((), "data_dir")
    return Settings(
        data_dir=data_dir,
        timezone=tz,
        database=DatabaseSettings(
            url=_database_url(reader),
            busy_timeout_s=reader.number(("database",), "busy_timeout_s"),
            password=_secret(env, "EXMADO_DB_PASSWORD", reader, ("database",)),
        ),
        broker=_broker(reader, env, data_dir),
        docuware=_docuware(reader, env),
        jobs=_jobs(reader),
        dropfolder=_dropfolder(reader),
        profiles_dir=reader.path(("profiles",), "dir"),
        user_profiles_dir=reader.path(("profiles",), "user_dir"),
        sources=sources,
        host_name=reader.text((), "host_name"),
        workbooks=_workbooks(reader),
        serve=_serve(reader, env),
        notify=read_notify(reader, env, sources[-1]),
        schedule=read_schedule(reader.merged, sources[-1]),
        metrics=_metrics(reader),
    )


LISTEN = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]{1,5})")


def _metrics(reader: LayerReader) -> MetricsSettings:
    listen = reader.text(("metrics",), "listen").strip()
    match = LISTEN.fullmatch(listen)
    if listen and not (match and 0 < int(match["port"]) < 65536):
        raise SettingsError(
            reader.where(("metrics",), "listen")
            + f" must be HOST:PORT, such as 127.0.0.1:9464 (empty: no metrics), got {listen!r}."
        )
    return MetricsSettings(listen)


def _serve(reader: LayerReader, env: Mapping[str, str]) -> ServeSettings:
    s = ("serve",)
    token = _secret(env, "EXMADO_SERVE_TOKEN", reader, s, "token")
    if token and len(token.reveal()) < MIN_SERVE_TOKEN_CHARS:
        where = "EXMADO_SERVE_TOKEN" if env.get("EXMADO_SERVE_TOKEN") else None
        raise SettingsError(
            (where or reader.where(s, "token_file"))
            + f" holds a token of {len(token.reveal())} characters; a serve token needs at"
            f" least {MIN_SERVE_TOKEN_CHARS} (python3 -c 'import secrets;"
            " print(secrets.token_urlsafe())' makes one)."
        )
    return ServeSettings(
        token=token,
        sessions=reader.count(s, "sessions"),
        upload_max_mb=reader.number(s, "upload_max_mb", positive=True),
    )


def _workbooks(reader: LayerReader) -> WorkbookLimits:
    s = ("workbooks",)
    return WorkbookLimits(
        max_unpacked_mb=reader.number(s, "max_unpacked_mb", positive=True),
        max_other_part_mb=reader.number(s, "max_other_part_mb", positive=True),
        max_ratio=reader.number(s, "max_ratio", positive=True),
        max_cell_chars=reader.count(s, "max_cell_chars"),
        max_columns=reader.count(s, "max_columns"),
    )


def _url(reader: LayerReader, keys: tuple[str, ...], key: str) -> tuple[str, SplitResult]:
    """A URL setting and its parts; a malformed one is refused without showing its password."""
    url = reader.text(keys, key)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number 0-65535
    except ValueError as exc:
        raise SettingsError(f"{reader.where(keys, key)} is not a valid URL ({exc}).") from None
    return url, parts


def _database_url(reader: LayerReader) -> str:
    url, parts = _url(reader, ("database",), "url")
    if url and parts.scheme not in DATABASE_SCHEMES:
        raise SettingsError(
            reader.where(("database",), "url")
            + f" must start with sqlite:/// or postgresql://, got {mask_url(url)!r}."
        )
    return url


def _broker(reader: LayerReader, env: Mapping[str, str], data_dir: Path) -> BrokerSettings:
    url, parts = _url(reader, ("broker",), "url")
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(
            reader.where(("broker",), "url") + f" must be a redis:// URL, got {mask_url(url)!r}."
        )
    password = _secret(env, "REDIS_PASSWORD", reader, ("broker",))
    bundled = localredis.existing_file(data_dir) if localredis.applies(parts) else None
    if not password and bundled:
        password = Secret(read_secret_file(bundled, "The bundled Redis's password file"))
    return BrokerSettings(
        url=url,
        password=password,
        heartbeat_timeout_s=reader.number(("broker",), "heartbeat_timeout_s", positive=True),
    )


def _docuware(reader: LayerReader, env: Mapping[str, str]) -> DocuWareSettings:
    s = ("docuware",)
    url, parts = _url(reader, s, "url")
    url = url.rstrip("/")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            reader.where(s, "url") + f" must be an http(s) URL, got {mask_url(url)!r}."
        )
    settings = DocuWareSettings(
        url=url,
        username=reader.text(s, "username"),
        password=_secret(env, "DOCUWARE_PASSWORD", reader, s),
        organization=reader.text(s, "organization"),
        auth=reader.choice(s, "auth", AUTH_MODES),
        client_id=reader.text(s, "client_id"),
        client_secret=_secret(env, "DOCUWARE_CLIENT_SECRET", reader, s, "client_secret"),
        scope=reader.text(s, "scope"),
        verify_tls=reader.flag(s, "verify_tls"),
        ca_bundle=reader.text(s, "ca_bundle"),
        timeout_s=_docuware_timeout(reader),
        max_json_mb=reader.number(s, "max_json_mb", positive=True),
        min_rate_kb_s=reader.number(s, "min_rate_kb_s"),
        min_rate_window_s=reader.number(s, "min_rate_window_s", positive=True),
        max_connections=reader.count(s, "max_connections"),
        max_attempts=reader.count(s, "max_attempts"),
        throttle_default_wait_s=reader.number(s, "throttle_default_wait_s"),
        max_requests_per_s=reader.number(s, "max_requests_per_s"),
        shared_budget=reader.flag(s, "shared_budget"),
        logons_per_min=reader.count(s, "logons_per_min"),
        cabinet_lists_per_min=reader.count(s, "cabinet_lists_per_min"),
    )
    if settings.auth == "client_credentials":
        _check_app_registration(settings, reader)
    return settings


def _docuware_timeout(reader: LayerReader) -> float:
    timeout = reader.number(("docuware",), "timeout_s")
    if timeout < MIN_DOCUWARE_TIMEOUT_S:
        raise SettingsError(
            reader.where(("docuware",), "timeout_s")
            + f" must be at least {MIN_DOCUWARE_TIMEOUT_S} s, got {timeout:g}, because DocuWare"
            " answers a throttled request after about 10 s."
        )
    return timeout


def _check_app_registration(settings: DocuWareSettings, reader: LayerReader) -> None:
    """auth = client_credentials needs an app registration's own client id and its secret."""
    s = ("docuware",)
    if settings.client_id in ("", PUBLIC_CLIENT_ID):
        value = "DocuWare's built-in public client" if settings.client_id else "empty"
        raise SettingsError(
            reader.where(s, "client_id")
            + f" is {value}, but auth = client_credentials needs the client id"
            " of your DocuWare app registration."
        )
    if not settings.client_secret:
        raise SettingsError(
            reader.where(s, "auth")
            + " is client_credentials, which needs [docuware] client_secret:"
            " set DOCUWARE_CLIENT_SECRET or client_secret_file."
        )


def _jobs(reader: LayerReader) -> JobsSettings:
    s = ("jobs",)
    heartbeat_s = reader.number(s, "heartbeat_s", positive=True)
    stale_after_s = reader.number(s, "stale_after_s", positive=True)
    if stale_after_s <= heartbeat_s:
        raise SettingsError(
            reader.where(s, "stale_after_s")
            + f" must be more than [jobs] heartbeat_s ({heartbeat_s:g}), got {stale_after_s:g}:"
            " a running job beats its heart and renews its slot lease every heartbeat_s, and"
            " after stale_after_s without a beat it is taken over and its slot lapses, so"
            " otherwise every running job would look dead between two heartbeats."
        )
    return JobsSettings(
        max_concurrent_jobs=reader.count(s, "max_concurrent_jobs"),
        job_timeout_s=reader.number(s, "job_timeout_s", positive=True),
        row_concurrency=reader.count(s, "row_concurrency"),
        output_root=reader.path(s, "output_root"),
        heartbeat_s=heartbeat_s,
        stale_after_s=stale_after_s,
        default_profile=reader.text(s, "default_profile"),
        unzip_member_max_mb=reader.number(s, "unzip_member_max_mb", positive=True),
        unzip_total_max_mb=reader.number(s, "unzip_total_max_mb", positive=True),
        max_document_mb=reader.number(s, "max_document_mb", positive=True),
        since_overlap_s=reader.number(s, "since_overlap_s"),
    )


def _dropfolder(reader: LayerReader) -> DropFolderSettings:
    s = ("dropfolder",)
    archive = _sub_folder(reader, "archive")
    rejected = _sub_folder(reader, "rejected")
    if archive == rejected:
        raise SettingsError(
            reader.where(s, "rejected")
            + f" must differ from [dropfolder] archive, got {rejected!r} for both."
        )
    return DropFolderSettings(
        path=reader.path(s, "path"),
        archive=archive,
        rejected=rejected,
        stable_s=reader.number(s, "stable_s"),
        poll=reader.flag(s, "poll"),
        duplicates=Duplicates(reader.choice(s, "duplicates", tuple(Duplicates))),
    )


def _sub_folder(reader: LayerReader, key: str) -> str:
    """archive and rejected are folders inside the drop folder, so one plain name each."""
    name = reader.text(("dropfolder",), key)
    if name.strip() in ("", ".", "..") or re.search(r"[/\\]", name):
        raise SettingsError(
            reader.where(("dropfolder",), key)
            + f" must be the name of a sub-folder of [dropfolder] path, such as {key!r},"
            f" got {name!r}."
        )
    return name


def _secret(
    env: Mapping[str, str],
    name: str,
    reader: LayerReader,
    section: tuple[str, ...],
    key: str = "password",
) -> Secret:
    """A secret from the environment, else from an owner-only `<key>_file`, never from `key`."""
    if env.get(name):
        return Secret(env[name], name)
    if key in reader.section(section):
        raise SettingsError(
            reader.where(section, key)
            + f" must not hold a {key.replace('_', ' ')}; set {name} or {key}_file instead."
        )
    path_text = reader.optional_text(section, f"{key}_file")
    if not path_text:
        return Secret("")
    path, where = Path(path_text).expanduser(), reader.where(section, f"{key}_file")
    return Secret(read_secret_file(path, where), where, path)


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
