"""`create_job`: what the new-job forms do once theirs is complete: create the job through the
job service on a thread, say so (or why not), and leave with the new job's id."""

from __future__ import annotations

import getpass
from dataclasses import replace

from textual.screen import Screen

from exmado_tui.errors import ExmadoError
from exmado_tui.job.request import JobRequest
from exmado_tui.ui.shared.app_access import exmado_app


async def create_job(screen: Screen[str | None], request: JobRequest) -> None:
    """`JobService.create(request)` by the person at the dashboard; a refusal is a notice."""
    start = request.start
    try:
        backend = exmado_app(screen).backend
        asked = replace(request, user=getpass.getuser(), source="tui")
        job = await backend.act(backend.service.create, asked)
    except ExmadoError as exc:
        screen.app.notify(str(exc), title="Job not created", severity="error", timeout=10)
        return
    verb = "created and queued" if start else "created; press s on it to start"
    screen.app.notify(f"Job {job.short_id} ({job.name}) {verb}.")
    screen.dismiss(job.id)
