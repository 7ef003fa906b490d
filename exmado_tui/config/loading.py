"""Reading the effective configuration: the defaults file < the host file < the environment,
merged, checked and built into `Settings` (`load_settings`). A mistake raises `SettingsError`
with one sentence naming the file and the setting; a relative path is taken from the folder
of the file that sets it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exmado_tui import resources
from exmado_tui.config.layers import (
    LayerReader,
    Secret,
    apply_environment,
    check_layout,
    merge,
    read_secret_file,
    read_toml,
)
from exmado_tui.config.settings import (
    AUTH_MODES,
    PLATFORM,
    PUBLIC_CLIENT_ID,
    BrokerSettings,
    DatabaseSettings,
    DocuWareSettings,
    DropFolderSettings,
    Duplicates,
    JobsSettings,
    MetricsSettings,
    ServeSettings,
    Settings,
    mask_url,
)
from exmado_tui.errors import SettingsError
from exmado_tui.notify.targets import read_notify
from exmado_tui.schedule.entries import read_schedule
from exmado_tui.services import localredis
from exmado_tui.workbook.checks import WorkbookLimits

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

# DocuWare answers a throttled request only after ~10 s; a shorter timeout turns 429 into timeouts.
MIN_DOCUWARE_TIMEOUT_S = 15


# A fixed serve token shorter than this is refused: it guards every control action.
MIN_SERVE_TOKEN_CHARS = 16


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


def _server_address(url: str) -> str:
    """The DocuWare server's address: the Platform's own address, as it is often copied from a
    browser, without its `/DocuWare/Platform` (the client adds that to every request)."""
    if url.casefold().endswith(PLATFORM.casefold()):
        return url[: -len(PLATFORM)].rstrip("/")
    return url


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
    url = _server_address(url.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            reader.where(s, "url") + f" must be an http(s) URL, got {mask_url(url)!r}."
        )
    if parts.username is not None or parts.password is not None:  # it would be shown and sent
        raise SettingsError(
            reader.where(s, "url") + f" must not hold a user name or password, got "
            f"{mask_url(url)!r}; set [docuware] username, and the password in "
            "DOCUWARE_PASSWORD or [docuware] password_file."
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
