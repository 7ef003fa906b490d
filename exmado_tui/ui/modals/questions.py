"""The modals that ask before something is done, each typed by its answer: `ConfirmModal`
(yes/no; True for yes), `PromptModal` (one line of text, or None on escape), `DeleteJobModal`
(delete jobs, keeping or removing their output files) and `FailJobModal` (mark jobs failed,
with a reason for the event log)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class ConfirmModal(ModalScreen[bool]):
    """Ask before doing something that cannot be undone.

    | key | does |
    |---|---|
    | y | yes |
    | n, escape | no |
    | enter | the focused button: "No" at first, the safe answer |
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="question", markup=False)  # names a job
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes_label} (y)", variant="error", id="yes", compact=True)
                yield Button(f"{self.no_label} (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class PromptModal(ModalScreen[str | None]):
    """Enter accepts, escape backs out."""

    BINDINGS = [Binding("escape", "back", "Cancel")]

    def __init__(self, question: str, placeholder: str = "") -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="question", markup=False)
            yield Input(placeholder=self.placeholder, id="answer")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_back(self) -> None:
        self.dismiss(None)


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
