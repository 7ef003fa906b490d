"""What the two new-job forms (from a workbook, from a search) share.

`JobFormScreen`, their base: a button runs the action its id names in `BUTTON_ACTIONS`, and
`create_job`, once the form is complete, creates the job through the job service on a thread,
says so (or why not), and leaves with the new job's id. Their fields: `FieldRow`, a form line
(a label and its fields, marked `-focused` while one has focus), and `FormInput`, a text field
that leaves Ctrl+E and Ctrl+A to its screen (the form's "Create and start" and the search's
"Add condition", shown in the footer, typed while the cursor is in a field); End and Home still
move to the end and start of the text. And `plain_options`, their selects' options shown as
written.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input, Label

from exmado_tui.errors import ExmadoError
from exmado_tui.job.new_job import JobRequest
from exmado_tui.ui.app import exmado_app

SCREEN_KEYS = frozenset({"ctrl+a", "ctrl+e"})


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


def _input_bindings_except(keys: frozenset[str]) -> list[BindingType]:
    """Every binding an Input has (its own and inherited), one per key, but `keys`."""
    merged = Input._merge_bindings().key_to_bindings
    return [
        replace(binding, key=key)
        for key, bindings in merged.items()
        if key not in keys
        for binding in bindings
    ]


class FormInput(Input, inherit_bindings=False):
    """An Input without the editing keys the form uses for itself."""

    BINDINGS: ClassVar[list[BindingType]] = _input_bindings_except(SCREEN_KEYS)


class FieldRow(Horizontal):
    """Its label lights up while a field of the row has focus: compact fields have no border
    to show it. (A class, not `:focus-within`, which Textual does not re-apply to children.)"""

    def __init__(self, label: str, *fields: Widget, id: str | None = None) -> None:
        super().__init__(Label(label, classes="field-label"), *fields, classes="field-row", id=id)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.add_class("-focused")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.remove_class("-focused")


def plain_options(options: Iterable[tuple[str, str]]) -> list[tuple[Text, str]]:
    """Select options whose prompts (sheet, column, cabinet and field names) show as written."""
    return [(Text(prompt), value) for prompt, value in options]
