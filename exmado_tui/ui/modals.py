"""The dashboard's modal dialogs, each typed by what it returns.

Questions asked before something is done: `ConfirmModal` (yes/no; True for yes), `PromptModal`
(one line of text, or None on escape), `DeleteJobModal` (delete jobs, keeping or removing their
output files) and `FailJobModal` (mark jobs failed, with a reason for the event log). Viewers
that show one thing whole where a table cuts it: `RowModal` (one workbook row in full: its
values, its error, the files it produced) and `RefusalModal` (one file the drop folder
refused, with its reason). And `FilePickerModal`, to browse for a workbook (only folders and
.xlsx/.xlsm/.csv files show).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label, Static

from exmado_tui.formatting import size, visible
from exmado_tui.store.queries import FileView, RowView
from exmado_tui.ui.keys import KeyFooter
from exmado_tui.ui.widgets.indicators import row_status_text
from exmado_tui.workbook.checks import WORKBOOK_SUFFIXES

# -- questions --------------------------------------------------------------------------------


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


# -- viewers ----------------------------------------------------------------------------------


class RowModal(ModalScreen[None]):
    """Escape or enter closes it. The row's values, error and file names come from data: their
    control characters are shown as `\\x1b`, never sent to the terminal."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, row: RowView, files: list[FileView]) -> None:
        super().__init__()
        self.row = row
        self.files = files

    def compose(self) -> ComposeResult:
        row = self.row
        with Vertical(classes="dialog wide"):
            title = Text(f"Row {row.row_number}  ")
            title.append_text(row_status_text(row.status))
            title.append(f"  attempts {row.attempts}  documents {row.documents}")
            yield Label(title, classes="question")
            with VerticalScroll():
                yield Static(self._values(), id="row-values")
                if row.duplicate_of:
                    yield Label(f"Same key as row {row.duplicate_of}.", classes="detail")
                if row.error:
                    yield Label(Text(f"Error: {visible(row.error)}", style="red"), id="row-error")
                yield Static(self._files(), id="row-files")

    def _values(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for name, value in self.row.values.items():
            table.add_row(
                Text(visible(str(name))), Text("" if value is None else visible(str(value)))
            )
        return table

    def _files(self) -> Table | Text:
        if not self.files:
            return Text("No files.", style="dim")
        table = Table("document", "path", "size", box=None, padding=(0, 1))
        for f in self.files:
            table.add_row(Text(visible(f.document_id)), Text(visible(f.path)), size(f.size))
        return table

    def action_close(self) -> None:
        self.dismiss(None)


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


# -- the file picker --------------------------------------------------------------------------


class WorkbookTree(DirectoryTree):
    """A directory tree showing only folders and workbooks, hidden entries left out."""

    BINDINGS = [Binding("enter", "select_cursor", "Pick / open")]  # the tree's own, shown

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p
            for p in paths
            if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() in WORKBOOK_SUFFIXES)
        ]


class FilePickerModal(ModalScreen[Path | None]):
    """Enter on a file picks it (on a folder, opens it); backspace goes up; escape backs out.
    The footer says so."""

    BINDINGS = [
        Binding("backspace", "up", "Parent folder"),
        Binding("escape", "back", "Cancel"),
    ]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start if start.is_dir() else Path.home()

    @property
    def workbook_tree(self) -> WorkbookTree:
        return self.query_one(WorkbookTree)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            yield Label(
                f"Pick a workbook (.xlsx, .xlsm, .csv) — {self.start}",
                id="picker-title",
                markup=False,  # a folder may be named [anything]
            )
            yield WorkbookTree(self.start)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.workbook_tree.focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path)

    def action_up(self) -> None:
        parent = Path(self.workbook_tree.path).resolve().parent
        self.workbook_tree.path = parent
        self.query_one("#picker-title", Label).update(f"Pick a workbook — {parent}")

    def action_back(self) -> None:
        self.dismiss(None)
