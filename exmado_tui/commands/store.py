"""`exmado store init`: make a store this data folder's (`store/identity.py`);
`exmado store migrate --to URL`: move the job store to another database.

The target's password never goes on the command line (other users can read it there): it
comes from EXMADO_DB_PASSWORD or `[database] password_file`, as it will once the hosts use it.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from exmado_tui.commands.context import Context, UsageError, print_json
from exmado_tui.config.settings import mask_url

if TYPE_CHECKING:  # imported when the command runs: `exmado --help` stays light
    import peewee


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    store = subparsers.add_parser(
        "store", help="the job store: start or adopt one, move it to another database"
    )
    actions = store.add_subparsers(dest="action", required=True)
    init = actions.add_parser(
        "init",
        help="make the store at [database] url this data folder's, starting an empty one "
        "when there is none (after the old one was lost)",
    )
    init.set_defaults(handler=init_command)
    move = actions.add_parser(
        "migrate", help="copy every job into another database (e.g. SQLite to PostgreSQL)"
    )
    move.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="postgresql://user@host:5432/exmado (password: EXMADO_DB_PASSWORD or password_file)",
    )
    move.add_argument(
        "--replace", action="store_true", help="empty a target that holds other jobs first"
    )
    move.add_argument("--json", action="store_true", help="print the result as JSON")
    move.set_defaults(handler=migrate_command)


def init_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.store.identity import init_store
    from exmado_tui.store.models import Job

    store_id, created = ctx.opening_store(init_store)
    where = mask_url(ctx.settings.database_url)
    if created:
        print(f"Started an empty job store {store_id[:8]} at {where} for {ctx.settings.data_dir}.")
    else:
        jobs = Job.select().count()
        print(
            f"The data folder {ctx.settings.data_dir} uses the job store {store_id[:8]} at "
            f"{where} ({jobs:,} job(s))."
        )
    return 0


def migrate_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.store.copy import copy_store
    from exmado_tui.store.db import database

    _check_target(args.to, ctx)
    ctx.open_store()
    target = _open_target(args.to, ctx)
    say = (lambda done, total: None) if args.json else _progress
    result = copy_store(database.obj, target, replace=args.replace, progress=say)
    if args.json:
        print_json(vars(result))
        return 0
    rows = ", ".join(f"{count:,} {table}" for table, count in result.counts.items())
    print(
        f"\nCopied {result.copied} job(s) ({result.already_there} already there from an earlier "
        f"run) into {mask_url(args.to)}; both stores now hold {rows} at schema version "
        f"{result.version}.\nNext: set [database] url (or EXMADO_DB_URL) to it on every host, "
        "then `exmado up`."
    )
    return 0


def _check_target(url: str, ctx: Context) -> None:
    parts = urlsplit(url)
    if parts.password:
        raise UsageError(
            "Leave the password out of --to (a command line is visible to other users): set "
            "EXMADO_DB_PASSWORD or [database] password_file instead."
        )
    if url == ctx.settings.database_url:
        raise UsageError(f"--to names the store in use ({mask_url(url)}): name another database.")


def _open_target(url: str, ctx: Context) -> peewee.Database:
    import peewee

    from exmado_tui.errors import SettingsError
    from exmado_tui.store.db import first_line, make_database

    settings = ctx.settings.database
    target = make_database(url, settings.busy_timeout_s, settings.password.reveal())
    try:
        target.connect()
    except peewee.PeeweeException as exc:
        raise SettingsError(
            f"Cannot open the target store {mask_url(url)}: {first_line(exc)}."
        ) from None
    return target


def _progress(done: int, total: int) -> None:
    """One line that counts up on a terminal; nothing in a pipe or a log."""
    if sys.stdout.isatty():
        print(f"\rcopied {done:,} of {total:,} job(s)", end="", flush=True)
