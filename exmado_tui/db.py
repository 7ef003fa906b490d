"""Opening the job store: SQLite in WAL mode by default, PostgreSQL by URL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import peewee
from playhouse.db_url import connect

from exmado_tui.errors import SettingsError
from exmado_tui.folders import private_folder

# Models bind to this proxy; `open_database` points it at the real database.
database = peewee.DatabaseProxy()


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp in the store takes."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_database(url: str, busy_timeout_s: float = 10, password: str = "") -> peewee.Database:
    """A Peewee database for `url`; SQLite gets WAL, a busy timeout and IMMEDIATE writes."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite(Path(unquote(parts.path)), busy_timeout_s)
    if parts.scheme in ("postgres", "postgresql"):
        extra = {"password": password} if password and not parts.password else {}
        return connect(url, **extra)
    raise SettingsError(
        f"[database] url must start with sqlite:/// or postgresql://, got {parts.scheme or url!r}."
    )


def _sqlite(path: Path, busy_timeout_s: float) -> peewee.SqliteDatabase:
    private_folder(path.parent)
    # IMMEDIATE: a transaction that reads then writes takes the write lock up front, so two
    # processes never deadlock upgrading their read locks.
    return peewee.SqliteDatabase(
        str(path),
        pragmas={
            "journal_mode": "wal",
            "busy_timeout": int(busy_timeout_s * 1000),
            "synchronous": "normal",
            "foreign_keys": 1,
        },
        lock_type="IMMEDIATE",
    )


def open_database(url: str, busy_timeout_s: float = 10, password: str = "") -> peewee.Database:
    """Point the models at `url` and bring its schema up to date."""
    from exmado_tui.migrations import migrate

    db = make_database(url, busy_timeout_s, password)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    migrate(db)
    return db
