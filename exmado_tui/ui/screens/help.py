"""`HelpScreen`: every key of every screen, read from the screens' own bindings."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

from exmado_tui.ui.logic.jobs import FILTERS
from exmado_tui.ui.widgets.keys import KeyFooter

INTRO = (
    "Éxmado exports DocuWare documents listed in Excel workbooks. Ctrl+P opens the command "
    "palette with every action of the screen you are on. The mouse works too."
)


def screens_with_keys() -> list[tuple[str, type]]:
    from exmado_tui.ui.app import ExmadoApp
    from exmado_tui.ui.modals import ConfirmModal, DeleteJobModal
    from exmado_tui.ui.screens.detail import JobDetailScreen
    from exmado_tui.ui.screens.dropfolder import DropFolderScreen
    from exmado_tui.ui.screens.jobs import JobsScreen
    from exmado_tui.ui.screens.new_job import NewJobScreen
    from exmado_tui.ui.screens.search_job import SearchJobScreen
    from exmado_tui.ui.screens.workers import WorkersScreen

    return [
        ("Everywhere", ExmadoApp),
        ("Jobs list", JobsScreen),
        ("Job detail", JobDetailScreen),
        ("New job", NewJobScreen),
        ("New job from a search", SearchJobScreen),
        ("Workers", WorkersScreen),
        ("Drop folder", DropFolderScreen),
        ("Confirmation", ConfirmModal),
        ("Delete job", DeleteJobModal),
    ]


def key_table(title: str, cls: type[DOMNode]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=None, padding=(0, 2))
    table.add_column("key", style="bold cyan", min_width=10)
    table.add_column("does")
    seen: set[str] = set()
    for binding in Binding.make_bindings(cls.BINDINGS):
        # "app.…" keys are the app's own, listed once under "Everywhere"
        if binding.description and binding.action not in seen and "app." not in binding.action:
            seen.add(binding.action)
            keys = [
                b.key_display or b.key
                for b in Binding.make_bindings(cls.BINDINGS)
                if b.action == binding.action
            ]
            table.add_row(" ".join(dict.fromkeys(_pretty(k) for k in keys)), binding.description)
    return table


def _pretty(key: str) -> str:
    return {
        "question_mark": "?",
        "slash": "/",
        "space": "space",
        "escape": "esc",
        "right_square_bracket": "]",
        "left_square_bracket": "[",
    }.get(key, key)


class HelpScreen(Screen[None]):
    """Escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def compose(self) -> ComposeResult:
        yield Static(Text(INTRO), classes="help-intro")
        filters = "  ".join(f"{f.key} {f.label}" for f in FILTERS)
        yield Static(Text(f"Status filters: {filters}"), classes="help-intro")
        self.tables = [key_table(title, cls) for title, cls in screens_with_keys()]
        with VerticalScroll(id="help-keys"):
            for table in self.tables:
                yield Static(table)
        yield KeyFooter()

    def action_close(self) -> None:
        self.dismiss(None)
