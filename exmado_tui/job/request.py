"""`JobRequest`: what a door (the CLI, the dashboard, the drop folder, a schedule) asks of
`JobService.create`, typed from the door to the store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exmado_tui.job.query_source import QuerySource


@dataclass(frozen=True)
class JobRequest:
    """A new job: its rows' source (a workbook, or a DocuWare query), how it runs and who asks."""

    workbook: Path | QuerySource
    profile: str | None = None
    config: Mapping[str, Any] | None = None  # the job's own settings, laid over the profile's
    output: Path | None = None  # None: a folder of its own under [jobs] output_root
    name: str | None = None  # None: the workbook's name, or the query's cabinet
    user: str | None = None  # who asks, when not the actor (a payload's user_name)
    source: str = "cli"  # the door, as the job's `source` column keeps it
    start: bool = False  # queue it at once
