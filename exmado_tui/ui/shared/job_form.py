"""`JobFormScreen`: what the two new-job forms (from a workbook, from a search) share: a button
runs the action its id names in `BUTTON_ACTIONS`, and `create_job`, once the form is complete,
creates the job through the job service on a thread, says so (or why not), and leaves with the
new job's id."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from textual import on
from textual.screen import Screen
from textual.widgets import Button

from exmado_tui.errors import ExmadoError
from exmado_tui.job.new_job import JobRequest
from exmado_tui.ui.shared.app_access import exmado_app


class JobFormScreen(Screen[str | None]):
    """A form that makes a job; dismisses with the new job's id, or None."""

    BUTTON_ACTIONS: ClassVar[Mapping[str, str]] = {}
    """Button id -> the action it runs, as a key binding would name it."""

    @on(Button.Pressed)
    async def _button(self, event: Button.Pressed) -> None:
        action = self.BUTTON_ACTIONS.get(str(event.button.id))
        if action is not None:
            await self.run_action(action)

    async def create_job(self, request: JobRequest) -> None:
        """`JobService.create(request)` by the person at the dashboard; a refusal is a notice."""
        start = request.start
        try:
            backend = exmado_app(self).backend
            asked = replace(request, user=getpass.getuser(), source="tui")
            job = await backend.act(backend.service.create, asked)
        except ExmadoError as exc:
            self.app.notify(str(exc), title="Job not created", severity="error", timeout=10)
            return
        verb = "created and queued" if start else "created; press s on it to start"
        self.app.notify(f"Job {job.short_id} ({job.name}) {verb}.")
        self.dismiss(job.id)
