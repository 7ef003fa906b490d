"""`DeleteJobModal`: delete jobs, keeping or removing their output files.

Dismisses with True (delete, keep files), False (delete with files) or None (do not delete).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class DeleteJobModal(ModalScreen[bool | None]):
    """Asks whether the output files should go too.

    | key | does |
    |---|---|
    | k | delete, keep the files |
    | D | delete with the files |
    | escape, n | do not delete |
    """

    BINDINGS = [
        Binding("k", "choose('keep')", "Keep files"),
        Binding("D", "choose('purge')", "Delete files too"),
        Binding("n,escape", "choose('none')", "Cancel"),
    ]

    def __init__(self, what: str, output_dirs: list[str]) -> None:
        super().__init__()
        self.what = what
        self.output_dirs = output_dirs

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Delete {self.what}?", classes="question", markup=False)
            folders = self.output_dirs[:3] + (["…"] if len(self.output_dirs) > 3 else [])
            yield Label("Output: " + "\n        ".join(folders), classes="detail", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Keep files (k)", id="keep", variant="warning", compact=True)
                yield Button("Delete files too (D)", id="purge", variant="error", compact=True)
                yield Button("Cancel (n)", id="none", compact=True)

    def on_mount(self) -> None:
        self.query_one("#none", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_choose(str(event.button.id))

    def action_choose(self, choice: str) -> None:
        self.dismiss({"keep": True, "purge": False}.get(choice))
