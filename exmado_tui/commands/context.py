"""What every command gets: the settings and the job store opened on first use; and the pieces
of a command line they share: a job's id argument, the argument types of `exmado jobs …` (a
status, seconds, a whole number, a point in time), a confirmation, JSON output."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from exmado_tui.config.settings import Settings, mask_url
from exmado_tui.errors import ExmadoError, SettingsError, StoreUnavailableError
from exmado_tui.files import blocking_file
from exmado_tui.job.actor import Actor, Door
from exmado_tui.job.status import JobStatus

if TYPE_CHECKING:  # `exmado --help` loads no store; a command opens it when it runs
    from exmado_tui.job.service import JobService


T = TypeVar("T")


class UsageError(ExmadoError):
    """The command line itself is wrong (options that do not go together): exit 2."""


@dataclass
class Context:
    settings: Settings
    door: Door = Door.CLI
    """How the command's actions come in, named in their events (`exmado watch`: the drop
    folder)."""
    _service: JobService | None = field(default=None, repr=False)

    def open_store(self) -> None:
        """Open the job store as this data folder's (`store_identity.open_store`), or say in one
        sentence (password masked) why it cannot be."""
        from exmado_tui.store.identity import open_store

        self.opening_store(open_store)

    def opening_store(self, opener: Callable[[Settings], T]) -> T:
        """`opener(settings)`, its errors in opening the store said in one sentence."""
        import peewee

        from exmado_tui.store.db import first_line, store_error

        url = self.settings.database_url
        try:
            return opener(self.settings)
        except (FileExistsError, NotADirectoryError) as exc:
            where = Path(exc.filename) if exc.filename else None
            blocker = (blocking_file(where) if where else None) or where
            raise SettingsError(
                f"Cannot open the job store at {mask_url(url)}: {blocker} is a file, not a folder."
            ) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            named = f" ({exc.filename})" if exc.filename else ""
            raise SettingsError(
                f"Cannot open the job store at {mask_url(url)}: {reason}{named}."
            ) from None
        except peewee.PeeweeException as exc:
            # Locked or restarting passes (a retryable error, same sentence); anything else —
            # a missing table, a file that is no database — waits for someone to act.
            message = f"Cannot open the job store at {mask_url(url)}: {first_line(exc)}."
            if (passing := store_error(exc, url)) is not None:
                raise StoreUnavailableError(
                    message, reason=passing.reason, store=passing.store
                ) from None
            raise SettingsError(message) from None

    @property
    def service(self) -> JobService:
        if self._service is None:
            from exmado_tui.job.service import JobService

            self.open_store()
            actor = Actor.here(self.door, self.settings.host)
            self._service = JobService(self.settings, actor=actor)
        return self._service


def add_job_command(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    handler: Callable[[argparse.Namespace, Context], int],
    *,
    json_output: bool = True,
) -> argparse.ArgumentParser:
    """`exmado jobs NAME ID [--json]`; the parser is returned for options of its own."""
    parser = actions.add_parser(name, help=summary)
    parser.add_argument("id", help="job id or a unique prefix of it")
    if json_output:
        parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=handler)
    return parser


def confirmed(question: str) -> bool:
    """Ask on stdin; only `y` or `yes` is a yes."""
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:  # no terminal (a script, cron, CI): nobody said yes
        print()
        return False


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def job_status(text: str) -> JobStatus:
    try:
        return JobStatus(text.upper())
    except ValueError:
        known = ", ".join(s.value for s in JobStatus)
        raise argparse.ArgumentTypeError(f"unknown status {text!r} (one of {known})") from None


def seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds ≥ 0, got {text!r}")
    return seconds


AGO = {"m": "minutes", "h": "hours", "d": "days"}


def since_time(text: str) -> Callable[[ZoneInfo], datetime]:
    """WHEN → a function of the user's zone giving naive UTC: `7d`, `12h`, `90m` ago, or a
    local date or date and time."""
    number, unit = text[:-1], text[-1:].lower()
    if unit in AGO and number.isdigit():
        moment = datetime.now(UTC).replace(tzinfo=None) - timedelta(**{AGO[unit]: int(number)})
        return lambda zone: moment
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a date (2026-11-28), a date and time (2026-11-28 14:00) or an age "
            f"(90m, 12h, 7d), got {text!r}"
        ) from None
    return lambda zone: (
        local.replace(tzinfo=local.tzinfo or zone).astimezone(UTC).replace(tzinfo=None)
    )


def whole_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 1, got {text!r}")
    return number
