"""Opening the job store: SQLite in WAL mode by default, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import peewee
from playhouse.db_url import connect
from playhouse.pool import PooledDatabase

from exmado_tui.config.settings import mask_url
from exmado_tui.errors import NoSpaceError, SettingsError, StoreUnavailableError
from exmado_tui.files import no_space, private_folder

# Models bind to this proxy; `open_database` points it at the real database.
database = peewee.DatabaseProxy()


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp in the store takes."""
    return datetime.now(UTC).replace(tzinfo=None)


# A worker connects per message and closes after: on PostgreSQL that close hands the
# connection back to a pool instead of paying a new sign-in for every job message. A
# connection idle for five minutes is dropped; a thread waits up to 30 s for a free one.
POOL = {"max_connections": 20, "stale_timeout": 300, "timeout": 30}


def make_database(
    url: str, busy_timeout_s: float = 10, password: str = "", *, create: bool = True
) -> peewee.Database:
    """A Peewee database for `url`; SQLite gets WAL, a busy timeout and IMMEDIATE writes, and
    with `create` False never makes a file that is not there (opening one fails instead)."""
    parts = urlsplit(url)
    if (path := sqlite_file(url)) is not None:
        return _sqlite(path, busy_timeout_s, create)
    if parts.scheme in ("postgres", "postgresql"):
        _check_postgres_driver()
        extra = {"password": password} if password and not parts.password else {}
        return connect(parts._replace(scheme="postgresql+pool").geturl(), **POOL, **extra)
    raise SettingsError(
        f"[database] url must start with sqlite:/// or postgresql://, got {parts.scheme or url!r}."
    )


def _check_postgres_driver() -> None:
    """Peewee would say only "driver not found", at the first query."""
    try:
        import psycopg2  # noqa: F401  (the driver peewee's PostgreSQL pool uses)
    except ImportError:
        raise SettingsError(
            "[database] url names PostgreSQL, but its driver is not installed: "
            "pip install 'exmado[postgres]' (psycopg2) in Éxmado's environment."
        ) from None


def sqlite_file(url: str) -> Path | None:
    """The file of a `sqlite:///` store; None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return None
    raw = unquote(parts.path)
    # sqlite:////abs/path splits to the path //abs/path, which Path keeps as written.
    return Path(raw[1:] if raw.startswith("//") else raw)


def _sqlite(path: Path, busy_timeout_s: float, create: bool) -> peewee.SqliteDatabase:
    if create:
        private_folder(path.parent)
    # mode=rw: every connection of a store that must exist fails on a deleted file rather
    # than making an empty one where it was.
    name = str(path) if create else f"file:{quote(str(path.absolute()))}?mode=rw"
    # IMMEDIATE: a transaction that reads then writes takes the write lock up front, so two
    # processes never deadlock upgrading their read locks.
    return peewee.SqliteDatabase(
        name,
        uri=not create,
        pragmas={
            "journal_mode": "wal",
            "busy_timeout": int(busy_timeout_s * 1000),
            "synchronous": "normal",
            "foreign_keys": 1,
        },
        lock_type="IMMEDIATE",
    )


def drop_connections() -> None:
    """Close this thread's connection and every idle pooled one, whatever their state: after a
    database restart each of them is dead, and only using one tells. The next query connects
    afresh."""
    db = database.obj
    if db is None:
        return
    with contextlib.suppress(peewee.PeeweeException, OSError):
        db.close()
    if isinstance(db, PooledDatabase):
        db.close_idle()


def open_database(url: str, busy_timeout_s: float = 10, password: str = "") -> peewee.Database:
    """Point the models at `url` and bring its schema up to date (a SQLite file is made if
    missing: the commands and workers open the store through `store.identity`, which
    does not let them)."""
    from exmado_tui.store.migrations import migrate

    db = bind_database(make_database(url, busy_timeout_s, password))
    migrate(db)
    return db


def bind_database(db: peewee.Database) -> peewee.Database:
    """Point the models at `db` and connect this thread."""
    database.initialize(db)
    db.connect(reuse_if_open=True)
    return db


# What a database says when it cannot answer just now but will later: SQLite locked past its
# busy timeout, PostgreSQL restarting, refusing connections or having dropped this one. Any
# other fault ("no such table" after a missed migration, a malformed file, bad SQL) stays
# until someone changes something, so trying again only delays saying so.
PASSING_MARKERS = (
    "locked",
    "busy",
    "could not connect",
    "connection refused",
    "connection to server",
    "server closed the connection",
    "terminating connection",
    "connection already closed",
    "connection reset",
    "no connection to the server",
    "ssl connection has been closed",
    "could not receive data",
    "could not send data",
    "timeout expired",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "too many clients",
    "too many connections",
)


def is_passing(exc: BaseException) -> bool:
    """Whether the store's `exc` is a passing fault: a lost connection (InterfaceError), or an
    operational error whose message names one of `PASSING_MARKERS`."""
    if isinstance(exc, peewee.InterfaceError):
        return True
    if isinstance(exc, peewee.OperationalError) or type(exc) is peewee.DatabaseError:
        message = str(exc).lower()
        return any(marker in message for marker in PASSING_MARKERS)
    return False


def first_line(exc: BaseException) -> str:
    """What the database said, its first line only (PostgreSQL adds hints below), no full stop;
    the exception's type when it said nothing."""
    lines = str(exc).strip().splitlines()
    return (lines[0].strip().rstrip(".") if lines else "") or type(exc).__name__


def store_unreachable(exc: BaseException, url: str) -> StoreUnavailableError:
    """`exc` as one sentence naming the store (password masked) and what the database said."""
    reason, store = first_line(exc), mask_url(url)
    return StoreUnavailableError(
        f"The job store {store} cannot be reached just now: {reason}.",
        reason=reason,
        store=store,
    )


def store_error(exc: BaseException, url: str) -> StoreUnavailableError | None:
    """`StoreUnavailableError` for a passing store fault (see `is_passing`), None for any
    other, which the caller lets stand: retrying it would only fail the same way."""
    return store_unreachable(exc, url) if is_passing(exc) else None


UNWRITABLE_MARKERS = ("readonly", "read-only", "unable to open")
# What SQLite says when its files cannot be written just now (made immutable, a file system
# remounted read-only): it may pass, so a run waits for it rather than failing.
WRITE_REFUSED_MARKERS = ("readonly", "read-only", "disk i/o error")


def is_write_refused(exc: BaseException) -> bool:
    """Whether the store's `exc` says its files refuse writes (see `WRITE_REFUSED_MARKERS`)."""
    return _refusal(exc) is not None


def _refusal(exc: BaseException) -> BaseException | None:
    """The error of `exc`'s chain that says the files refuse writes: a failed commit surfaces
    as the rollback that failed after it."""
    if not isinstance(exc, peewee.OperationalError):
        return None
    seen: BaseException | None = exc
    for _ in range(8):  # a chain is short; a cycle of contexts must not hang us
        if seen is None:
            return None
        if any(marker in str(seen).lower() for marker in WRITE_REFUSED_MARKERS):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def write_refused(exc: BaseException, url: str) -> StoreUnavailableError | None:
    """`StoreUnavailableError` when the store's files refuse writes just now, else None."""
    refusal = _refusal(exc)
    if refusal is None:
        return None
    reason, store = first_line(refusal), mask_url(url)
    return StoreUnavailableError(
        f"The job store {store} cannot be written just now: {reason}.", reason=reason, store=store
    )


def unwritable_store(exc: BaseException, url: str) -> str | None:
    """One sentence naming the folder when a SQLite store cannot be opened or written there (a
    read-only data folder, or one of another user); None for any other fault."""
    path = sqlite_file(url)
    if path is None or not isinstance(exc, peewee.OperationalError):
        return None
    if not any(marker in str(exc).lower() for marker in UNWRITABLE_MARKERS):
        return None
    return (
        f"The job store cannot be written in {path.parent} ({first_line(exc)}): the folder is "
        "read-only or not this user's; make it writable, or set data_dir (EXMADO_DATA_DIR) to "
        "a folder that is."
    )


def store_full(url: str) -> NoSpaceError:
    """The job store's disk is full: its folder for SQLite, its server for PostgreSQL."""
    path = sqlite_file(url)
    if path is not None:
        return no_space(path.parent, "the job store's folder")
    store = mask_url(url)
    return NoSpaceError(f"No space left for the job store {store} on its server", folder=store)
