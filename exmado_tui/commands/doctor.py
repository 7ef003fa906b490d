"""`exmado doctor`: one ✓/✗ line per thing Éxmado needs, each ✗ with what to do about it
(and, with `[metrics] listen` set, where this host's metrics are served); and `exmado config
show`: the effective settings those checks read, secrets masked.

The configuration is read here, not by the CLI, so that a broken one is the first ✗ rather
than an error before any check ran. Each check is bounded: one attempt, short timeouts.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from exmado_tui.commands.context import Context, print_json
from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import DocuWareSettings, Settings, mask_url, masked
from exmado_tui.errors import ExmadoError
from exmado_tui.formatting import size
from exmado_tui.services.localredis import url_password

if TYPE_CHECKING:  # the client is imported only when DocuWare is checked
    from exmado_tui.docuware.errors import AuthenticationError

MIN_FREE_BYTES = 1024**3
REDIS_TIMEOUT_S = 3
DOCUWARE_TIMEOUT_S = 15
METRICS_TIMEOUT_S = 3


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # works, but should be fixed: shown with "!", exit status unchanged


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = subparsers.add_parser("doctor", help="check everything Éxmado needs, with fixes")
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.set_defaults(handler=doctor_command, reads_own_settings=True)


def doctor_command(args: argparse.Namespace) -> int:
    checks = run_checks(args.config)
    if args.json:
        print_json([asdict(check) for check in checks])
    else:
        for check in checks:
            print(_line(check))
    return 0 if all(check.ok for check in checks) else 1


def _line(check: Check) -> str:
    mark = "✗" if not check.ok else "!" if check.warning else "✓"
    line = f"{mark} {check.name}: {check.detail}"
    return line + (f"\n    fix: {check.fix}" if check.fix else "")


def run_checks(config: str | None) -> list[Check]:
    try:
        settings = load_settings(config)
    except ExmadoError as exc:
        return [Check("configuration", False, str(exc), "correct that setting and run again")]
    checks = [Check("configuration", True, f"read from {', '.join(settings.sources)}")]
    for check in CHECKS:
        checks.extend(check(settings))
    return checks


def _writable(folder: Path) -> str:
    """Why `folder` cannot take a new file (it or its nearest existing parent), or ''."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        with tempfile.TemporaryFile(dir=existing):
            return ""
    except OSError as exc:
        return f"{existing}: {exc.strerror or exc}"


def data_folder(settings: Settings) -> list[Check]:
    problem = _writable(settings.data_dir)
    if problem:
        fix = "make it writable for this user, or set data_dir / EXMADO_DATA_DIR"
        return [
            Check("data folder", False, f"{settings.data_dir} cannot be written ({problem})", fix)
        ]
    return [Check("data folder", True, f"{settings.data_dir} is writable")]


STORE_ID_VERSION = 5  # the schema step that gave stores their id


def store(settings: Settings) -> list[Check]:
    from exmado_tui.store.db import make_database, sqlite_file
    from exmado_tui.store.identity import recorded_id, store_id
    from exmado_tui.store.migrations import LATEST, current_version
    from exmado_tui.store.models import SchemaVersion

    url = mask_url(settings.database_url)
    file = sqlite_file(settings.database_url)
    recorded = recorded_id(settings.data_dir)
    if file is not None and not file.exists():
        if recorded:
            return [_not_recorded(url, "is gone", recorded, "")]
        return [Check("job store", True, f"{url} not created yet (the first command creates it)")]
    try:
        db = make_database(settings.database_url, 3, settings.database.password.reveal())
        db.connect()
        try:
            with db.bind_ctx([SchemaVersion]):  # without pointing the whole program at it
                version = current_version(db)
            # "": no store there at all; None: one older than ids, adopted when next opened
            found = store_id(db) if version >= STORE_ID_VERSION else "" if not version else None
        finally:
            db.close()
    except Exception as exc:  # any driver's error: say it, do not crash the other checks
        fix = "check [database] url / EXMADO_DB_URL and that the database server runs"
        return [Check("job store", False, f"{url} cannot be opened ({_first_line(exc)})", fix)]
    if version > LATEST:
        fix = "upgrade Éxmado on this host: a newer one has changed the store"
        return [
            Check("job store", False, f"{url} is at schema {version}, newer than {LATEST}", fix)
        ]
    if recorded and found is not None and found != recorded:
        return [_not_recorded(url, "holds no tables", recorded, found)]
    detail = f"{url}, schema {version} of {LATEST}"
    if version < LATEST:
        return [Check("job store", True, detail + " (the next command brings it up to date)")]
    return [Check("job store", True, detail)]


def _not_recorded(url: str, gone: str, recorded: str, found: str) -> Check:
    """The store at `url` is not the one the data folder recorded: `gone` when none is there."""
    if not found:
        detail = f"{url} {gone} (the data folder recorded store {recorded[:8]})"
        fix = "restore it from a backup, or run `exmado store init` to start an empty one"
        return Check("job store", False, detail, fix)
    detail = f"{url} is store {found[:8]}, not the store {recorded[:8]} the data folder recorded"
    return Check("job store", False, detail, "put that one back, or `exmado store init` to use it")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def redis_and_workers(settings: Settings) -> list[Check]:
    import redis

    from exmado_tui.services.queue import NAMESPACE, REDIS_DOWN_FIX, WORKER_KEY_PREFIX, redis_client

    url = mask_url(settings.broker.url)
    client = redis_client(
        settings.broker,
        connect_timeout_s=REDIS_TIMEOUT_S,
        reply_timeout_s=REDIS_TIMEOUT_S,
        once=True,
    )
    try:
        client.ping()
        workers = list(client.scan_iter(match=WORKER_KEY_PREFIX + "*", count=200))
    except (redis.AuthenticationError, redis.ResponseError) as exc:
        fix = "set REDIS_PASSWORD (or [broker] password_file) to the password Redis expects"
        return [Check("Redis", False, f"{url} refused us: {exc}", fix)]
    except redis.RedisError as exc:
        return [Check("Redis", False, f"cannot reach {url} ({exc})", REDIS_DOWN_FIX)]
    finally:
        client.close()
    redis_ok = Check("Redis", True, f"{url} answers (namespace {NAMESPACE})")
    if not settings.broker.password and not url_password(urlsplit(settings.broker.url)):
        detail = f"{url} answers without a password: whoever reaches it can read or wipe the queue"
        fix = "set requirepass in its redis.conf and REDIS_PASSWORD (or [broker] password_file)"
        redis_ok = Check("Redis", True, detail, fix, warning=True)
    if not workers:
        fix = "start them with `exmado up` (or `exmado worker` in the foreground)"
        return [redis_ok, Check("workers", False, "no worker is alive", fix)]
    return [redis_ok, Check("workers", True, f"{len(workers)} alive")]


DOCUWARE_SIGN_IN_FIX = (
    "set DOCUWARE_USERNAME and DOCUWARE_PASSWORD (or the app registration's client id)"
)
DOCUWARE_UNREACHABLE_FIX = (
    "check DOCUWARE_URL ([docuware] url) and that the server answers from this host"
)


def docuware(settings: Settings) -> list[Check]:
    return [docuware_sign_in(settings.docuware)]


def docuware_sign_in(settings: DocuWareSettings) -> Check:
    """Reach DocuWare and sign in (once, short timeouts); the session signs out on closing."""
    from exmado_tui.docuware.errors import AuthenticationError, DocuWareNetworkError
    from exmado_tui.docuware.session import DocuWareSession

    dw = replace(settings, max_attempts=1, timeout_s=DOCUWARE_TIMEOUT_S)
    try:
        with DocuWareSession(dw) as session:
            version = session.service_description().version or "version unknown"
            mode = session.login()
    except AuthenticationError as exc:
        return sign_in_refused(exc, dw)
    except DocuWareNetworkError as exc:
        return Check("DocuWare", False, str(exc), DOCUWARE_UNREACHABLE_FIX)
    except ExmadoError as exc:
        return Check("DocuWare", False, str(exc), "see `exmado docuware check -v`")
    return Check(
        "DocuWare", True, f"{dw.url} (DocuWare {version}), signed in as {dw.signer} using {mode}"
    )


def sign_in_refused(exc: AuthenticationError, settings: DocuWareSettings) -> Check:
    """Run by hand (`exmado doctor`, the Workers screen's k): a refused sign-in's fix is the
    secret to check, where it was set, not the workers' (restart them, retry the job)."""
    from exmado_tui.docuware.auth import credentials_to_check

    if not exc.refusal:
        return Check("DocuWare", False, str(exc), DOCUWARE_SIGN_IN_FIX)
    return Check("DocuWare", False, exc.refusal, f"check {credentials_to_check(settings)}")


def output_root(settings: Settings) -> list[Check]:
    root = settings.jobs.output_root
    problem = _writable(root)
    fix = "make it writable for this user, or set [jobs] output_root / EXMADO_OUTPUT_ROOT"
    if problem:
        return [Check("output folder", False, f"{root} cannot be written ({problem})", fix)]
    existing = next(p for p in (root, *root.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        fix = f"free space on that disk, or point output_root at another ({size(MIN_FREE_BYTES)}+)"
        return [Check("output folder", False, f"{root}: only {size(free)} free", fix)]
    return [Check("output folder", True, f"{root} is writable, {size(free)} free")]


def drop_folder(settings: Settings) -> list[Check]:
    from exmado_tui.config.profiles import profile_names

    path = settings.dropfolder.path
    names = profile_names(settings.profile_dirs)
    if not path.is_dir():
        fix = f"mkdir -p {path}/PROFILE for each profile ({', '.join(names) or 'none yet'})"
        return [Check("drop folder", False, f"{path} does not exist", fix)]
    folders = [n for n in names if (path / n).is_dir()]
    detail = f"{path}, profile folders: {', '.join(folders) or 'none yet'}"
    return [Check("drop folder", True, detail)]


def profiles(settings: Settings) -> list[Check]:
    """A ✗ for each profile file that cannot be read, found before a workbook dropped for it
    is refused or a job asks for it; else the profiles there are."""
    from exmado_tui.config.profiles import load_profile, profile_names

    names = profile_names(settings.profile_dirs)
    broken = []
    for name in names:
        try:
            load_profile(settings.profile_dirs, name)
        except ExmadoError as exc:
            broken.append(Check("profiles", False, str(exc), "correct that file, or remove it"))
    return broken or [Check("profiles", True, ", ".join(names) or "none yet")]


def notifications(settings: Settings) -> list[Check]:
    """One line per [[notify]] target: delivering, or failing and why; and notices nobody
    delivers (no `exmado watch` running)."""
    if not settings.notify.targets:
        return []
    from exmado_tui.notify.delivery import overview
    from exmado_tui.store.db import make_database, sqlite_file, utcnow
    from exmado_tui.store.models import NotifyDelivery, NotifyEvent

    file = sqlite_file(settings.database_url)
    if file is not None and not file.exists():
        return [Check("notifications", True, "nothing sent yet (no job store)")]
    try:
        db = make_database(settings.database_url, 3, settings.database.password.reveal())
        with db.bind_ctx([NotifyEvent, NotifyDelivery]):
            targets, waiting = overview(settings.notify, utcnow())
        db.close()
    except Exception as exc:
        return [Check("notifications", False, f"cannot read the outbox ({_first_line(exc)})")]
    fix = "check that receiver (its URL, server, login); `exmado notify test` sends one now"
    checks = [Check("notifications", t.ok, t.sentence, "" if t.ok else fix) for t in targets]
    if waiting:
        detail = f"{waiting} notices wait for a deliverer"
        checks.append(Check("notifications", False, detail, "start `exmado watch` (exmado up)"))
    return checks


def schedule(settings: Settings) -> list[Check]:
    """The [[schedule]] entries: each names a profile that saves a query."""
    if not settings.schedule:
        return []
    from exmado_tui.schedule.runs import check_schedule

    try:
        check_schedule(settings)
    except ExmadoError as exc:
        return [Check("schedule", False, str(exc), "correct that entry or its profile")]
    entries = ", ".join(f"{e.name} ({e.when})" for e in settings.schedule)
    return [Check("schedule", True, f"{entries}; `exmado schedule list` shows their runs")]


def metrics(settings: Settings) -> list[Check]:
    """With `[metrics] listen` set: does this host's worker serve its metrics there?"""
    import urllib.error
    import urllib.request

    if not settings.metrics.listen:
        return []
    url = settings.metrics.url
    try:
        with urllib.request.urlopen(url, timeout=METRICS_TIMEOUT_S) as answer:
            series = sum(1 for line in answer if line.strip() and not line.startswith(b"#"))
    except (OSError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", exc)
        fix = "this host's workers serve them: `exmado up` (or `exmado worker`)"
        return [Check("metrics", True, f"nothing answers at {url} ({reason})", fix, warning=True)]
    return [Check("metrics", True, f"Prometheus metrics at {url} ({series} series)")]


CHECKS: tuple[Callable[[Settings], list[Check]], ...] = (
    data_folder,
    store,
    redis_and_workers,
    docuware,
    output_root,
    drop_folder,
    profiles,
    notifications,
    schedule,
    metrics,
)


# -- config show ----------------------------------------------------------------------------


def register_config(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = subparsers.add_parser("config", help="show the effective configuration")
    actions = config.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="print settings (secrets masked)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=show_config)


def show_config(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.schedule.runs import check_schedule

    check_schedule(ctx.settings)  # a [[schedule]] whose profile saves no query: one sentence
    data = masked(ctx.settings)
    if args.json:
        print_json(data)
        return 0
    print(f"# read from: {', '.join(ctx.settings.sources)}")
    _print_table("", data)
    return 0


def _print_table(prefix: str, data: dict[str, Any]) -> None:
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    for key, value in data.items():
        if key not in tables and key != "sources":
            print(f"{prefix}{key} = {value!r}")
    for key, value in tables.items():
        print(f"\n[{prefix}{key}]")
        _print_table("", value)
