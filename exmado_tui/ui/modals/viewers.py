"""The modals that show one thing whole where a table cuts it: `RowModal` (one workbook row
in full: its values, its error, the files it produced) and `RefusalModal` (one file the drop
folder refused, with its reason)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from exmado_tui.formatting import size, visible
from exmado_tui.store.queries import FileView, RowView
from exmado_tui.ui.widgets.indicators import row_status_text


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
