"""What every command gets: the settings, and the job store opened on first use."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from exmado_tui.db import open_database
from exmado_tui.jobs import JobService
from exmado_tui.settings import Settings


@dataclass
class Context:
    settings: Settings
    _service: JobService | None = field(default=None, repr=False)

    def open_store(self) -> None:
        db = self.settings.database
        open_database(self.settings.database_url, db.busy_timeout_s, db.password.reveal())

    @property
    def service(self) -> JobService:
        if self._service is None:
            self.open_store()
            self._service = JobService(self.settings)
        return self._service


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
