"""`FilePickerModal`: browse for a workbook; only folders and .xlsx/.xlsm/.csv files show."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Label

from exmado_tui.ui.widgets.keys import KeyFooter
from exmado_tui.workbook.checks import WORKBOOK_SUFFIXES


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
