"""What every command gets: the settings, and the job store opened on first use."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import peewee

from exmado_tui.db import open_database
from exmado_tui.errors import SettingsError
from exmado_tui.jobs import JobService
from exmado_tui.settings import Settings, mask_url


@dataclass
class Context:
    settings: Settings
    _service: JobService | None = field(default=None, repr=False)

    def open_store(self) -> None:
        """Open the job store, or say in one sentence (password masked) why it cannot be."""
        db, url = self.settings.database, self.settings.database_url
        try:
            open_database(url, db.busy_timeout_s, db.password.reveal())
        except (FileExistsError, NotADirectoryError) as exc:
            raise SettingsError(
                f"Cannot open the job store at {mask_url(url)}: {exc.filename} is a file,"
                " not a folder."
            ) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            where = f" ({exc.filename})" if exc.filename else ""
            raise SettingsError(
                f"Cannot open the job store at {mask_url(url)}: {reason}{where}."
            ) from None
        except peewee.DatabaseError as exc:
            lines = str(exc).strip().splitlines()
            reason = lines[0].strip().rstrip(".") if lines else type(exc).__name__
            raise SettingsError(
                f"Cannot open the job store at {mask_url(url)}: {reason}."
            ) from None

    @property
    def service(self) -> JobService:
        if self._service is None:
            self.open_store()
            self._service = JobService(self.settings)
        return self._service


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
