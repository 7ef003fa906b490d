"""`RefusalModal`: one file the drop folder refused, with its reason whole (the table cuts it)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label

from exmado_tui.formatting import visible


class RefusalModal(ModalScreen[None]):
    """Escape or enter closes it. The name and reason come from the drop folder: their control
    characters are shown as `\\x1b`, never sent to the terminal."""

    DEFAULT_CSS = """
    RefusalModal VerticalScroll { height: auto; max-height: 16; }
    """
    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, path: Path, when: str, reason: str) -> None:
        super().__init__()
        self.path = path
        self.when = when
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(
                Text(f"Refused: {visible(self.path.name)}  {self.when}"), classes="question"
            )
            with VerticalScroll():
                why = visible(self.reason) or "(no reason recorded)"
                yield Label(Text(why, style="red" if self.reason else "dim"), id="refusal-reason")
                yield Label(Text(f"In {visible(str(self.path.parent))}", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
