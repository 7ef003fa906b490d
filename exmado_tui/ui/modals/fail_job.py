"""`FailJobModal`: mark jobs failed, with a reason for the event log.

Dismisses with the reason (possibly empty) or None when the user backs out.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class FailJobModal(ModalScreen[str | None]):
    """Enter marks the jobs failed; escape backs out."""

    BINDINGS = [Binding("escape", "back", "Cancel")]

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    @property
    def reason_input(self) -> Input:
        return self.query_one("#reason", Input)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                f"Mark {self.what} as FAILED? A worker will not touch it again.", markup=False
            )
            yield Input(placeholder="reason (optional)", id="reason")
            with Horizontal(classes="buttons"):
                yield Button("Mark failed (enter)", id="fail", variant="error", compact=True)
                yield Button("Cancel (esc)", id="back", compact=True)

    def on_input_submitted(self) -> None:
        self.dismiss(self.reason_input.value.strip())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "fail":
            self.dismiss(self.reason_input.value.strip())
        else:
            self.dismiss(None)

    def action_back(self) -> None:
        self.dismiss(None)
