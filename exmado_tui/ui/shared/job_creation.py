"""`create_job`: what the new-job forms do once theirs is complete: create the job through the
job service on a thread, say so (or why not), and leave with the new job's id."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from textual.screen import Screen

from exmado_tui.errors import ExmadoError
from exmado_tui.job.query_source import QuerySource
from exmado_tui.ui.shared.app_access import exmado_app


async def create_job(
    screen: Screen[str | None], source: Path | QuerySource, start: bool, **options: Any
) -> None:
    """`JobService.create(source, …)` by the person at the dashboard; a refusal is a notice."""
    try:
        backend = exmado_app(screen).backend
        job = await backend.act(
            backend.service.create,
            source,
            user=getpass.getuser(),
            source="tui",
            start=start,
            **options,
        )
    except ExmadoError as exc:
        screen.app.notify(str(exc), title="Job not created", severity="error", timeout=10)
        return
    verb = "created and queued" if start else "created; press s on it to start"
    screen.app.notify(f"Job {job.short_id} ({job.name}) {verb}.")
    screen.dismiss(job.id)
