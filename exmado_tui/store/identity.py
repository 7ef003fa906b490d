"""Which job store a data folder uses: an id kept in the store (its `store_identity` table)
and in `store-id` in the data folder, so that a store deleted or swapped under Éxmado is
noticed by every command and worker instead of being silently replaced by an empty one.

* The first run (no `store-id`, no SQLite file) creates the store and records its id; a store
  older than the id gets one (migration step 5) and is recorded when first opened.
* After that nothing creates a store but `exmado store init`: a recorded SQLite file that is
  missing, a PostgreSQL database without tables and a store whose id is not the recorded one
  are each refused with one sentence naming the fix. (On PostgreSQL the data folder is each
  host's own: the store keeps the id, each host checks the one it recorded.)
* A worker checks before it records rows and at each heartbeat that the store is still the one
  it opened (SQLite: the same file at the path; PostgreSQL: the same id), so it never writes on
  into a deleted file; between messages it follows a store `store init` put in its place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import peewee

from exmado_tui.config.settings import Settings, mask_url
from exmado_tui.errors import StoreIdentityError
from exmado_tui.files import owner_only, private_folder, write_atomically, write_private
from exmado_tui.store import migrations
from exmado_tui.store.db import bind_database, database, is_passing, make_database, sqlite_file

ID_FILE = "store-id"
FileKey = tuple[int, int]  # (device, inode) of a SQLite file


@dataclass(frozen=True)
class Opened:
    """The store this process opened: its URL, its id, (SQLite) which file it was, and the
    database the models were pointed at."""

    url: str
    store_id: str
    file_key: FileKey | None
    db: peewee.Database


_opened: Opened | None = None


def open_store(settings: Settings) -> peewee.Database:
    """Open the job store of `settings` as its data folder's own, or raise
    `StoreIdentityError` saying why not and what to do."""
    recorded = recorded_id(settings.data_dir)
    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        if recorded is not None:
            raise StoreIdentityError(_gone(settings, recorded))
        _create_file(path)  # the first run
    db = bind_database(_make(settings))
    if recorded is not None and path is None and not db.table_exists("schema_version"):
        raise StoreIdentityError(_gone(settings, recorded))
    migrations.migrate(db)
    found = store_id(db)
    if recorded is None:
        record(settings.data_dir, found)
    elif found != recorded:
        raise StoreIdentityError(_swapped(settings, recorded, found))
    _remember(settings, found, db)
    return db


def init_store(settings: Settings) -> tuple[str, bool]:
    """`exmado store init`: make the store at `[database] url` this data folder's, starting an
    empty one when there is none; its id, and whether it was created."""
    path = sqlite_file(settings.database_url)
    created = path is not None and not path.exists()
    if created and path is not None:
        _create_file(path)
    db = bind_database(_make(settings))
    created = created or not db.table_exists("schema_version")
    migrations.migrate(db)
    found = store_id(db)
    record(settings.data_dir, found)
    _remember(settings, found, db)
    return found, created


def follow_store(settings: Settings) -> None:
    """Before a worker takes a message: open the store again (checked as `open_store` does)
    unless it is still the one this process opened."""
    opened = opened_store()
    if opened is None or not still(opened):
        open_store(settings)


def opened_store() -> Opened | None:
    """The store this process opened last (a run keeps it: another thread may follow a new
    one meanwhile, and the run's rows belong to the one it began with); None when the models
    were pointed at another database since (`db.open_database`, as tests do)."""
    return _opened if _opened is not None and _opened.db is database.obj else None


def check_still(opened: Opened | None) -> None:
    """Raise `StoreIdentityError` when the store is no longer `opened`."""
    if opened is not None and not still(opened):
        raise StoreIdentityError(_changed(opened.url))


def still(opened: Opened) -> bool:
    """Whether the store at `opened`'s URL is still that one. A passing fault of the database
    is raised, not taken for a swap."""
    path = sqlite_file(opened.url)
    if path is not None:
        return _file_key(path) == opened.file_key
    try:
        return store_id(database.obj) == opened.store_id
    except peewee.PeeweeException as exc:
        if is_passing(exc):
            raise
        return False


def store_id(db: peewee.Database) -> str:
    row = db.execute_sql('SELECT "id" FROM "store_identity"').fetchone()
    return str(row[0]) if row else ""


def share_identity(source: peewee.Database, target: peewee.Database) -> None:
    """Give `target` the id of `source` (`exmado store migrate`): the same jobs moved, so the
    data folders that recorded the source accept the target once the URL names it."""
    update = f'UPDATE "store_identity" SET "id" = {target.param}'
    with target.atomic():
        target.execute_sql(update, (store_id(source),))


def recorded_id(data_dir: Path) -> str | None:
    """The id of the store this data folder uses, None before its first run."""
    try:
        return (data_dir / ID_FILE).read_text().strip() or None
    except (FileNotFoundError, NotADirectoryError):  # no data folder (yet), or a file there
        return None


def record(data_dir: Path, found: str) -> None:
    private_folder(data_dir)
    write_atomically(data_dir / ID_FILE, lambda temp: write_private(temp, f"{found}\n".encode()))


def keep_private(settings: Settings) -> None:
    """The data folder, its workbook copies and runtime files, and a SQLite store's files are
    their owner's only, whatever modes they had (their folder alone would not do for a store
    kept elsewhere)."""
    folder = settings.data_dir
    paths = [folder, folder / "workbooks", folder / "inbox", folder / "run", folder / "redis"]
    paths.append(folder / ID_FILE)
    if (path := sqlite_file(settings.database_url)) is not None:
        paths += [path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")]
    for path in paths:
        owner_only(path)


def _make(settings: Settings) -> peewee.Database:
    db = settings.database
    return make_database(
        settings.database_url, db.busy_timeout_s, db.password.reveal(), create=False
    )


def _create_file(path: Path) -> None:
    """An empty, owner-only SQLite file (an empty file is an empty database)."""
    private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process's first run made it a moment ago
        return


def _remember(settings: Settings, found: str, db: peewee.Database) -> None:
    global _opened
    path = sqlite_file(settings.database_url)
    key = _file_key(path) if path is not None else None
    _opened = Opened(settings.database_url, found, key, db)
    keep_private(settings)


def _file_key(path: Path) -> FileKey | None:
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):  # no data folder (yet), or a file there
        return None
    return info.st_dev, info.st_ino


def _where(url: str) -> str:
    path = sqlite_file(url)
    return str(path) if path is not None else mask_url(url)


def _gone(settings: Settings, recorded: str) -> str:
    url = settings.database_url
    what = "is gone" if sqlite_file(url) is not None else "holds no tables"
    return (
        f"The job store {_where(url)} {what} (the data folder {settings.data_dir} recorded "
        f"store {recorded[:8]}): restore it from a backup, or run `exmado store init` to start "
        "an empty one."
    )


def _swapped(settings: Settings, recorded: str, found: str) -> str:
    return (
        f"The job store {_where(settings.database_url)} is store {found[:8]}, not the store "
        f"{recorded[:8]} the data folder {settings.data_dir} recorded: put that one back, or "
        "run `exmado store init` to use this one."
    )


def _changed(url: str) -> str:
    return (
        f"The job store {_where(url)} was deleted or replaced while in use: restore it, or run "
        "`exmado store init` to start an empty one; nothing more is recorded until then."
    )
