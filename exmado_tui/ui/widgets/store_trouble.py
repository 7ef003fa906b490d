"""How the dashboard says the job store is out of reach for a while (locked, restarting)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from exmado_tui.errors import StoreUnavailableError

STORE_UNREACHABLE = "Cannot read the job store (trying again)"


def store_trouble(exc: StoreUnavailableError) -> Text:
    """One red line: what the database said first (a status line is one line high), then
    which store."""
    where = f" ({exc.store})" if exc.store else ""
    return Text(f"{STORE_UNREACHABLE}: {exc.reason}{where}", style="red")


class StoreTrouble(Static):
    """A red line shown only while the store cannot be read."""

    def on_mount(self) -> None:
        self.display = False

    def show(self, exc: StoreUnavailableError | None) -> None:
        """The trouble, or None once a read works again."""
        if exc is not None:
            self.update(store_trouble(exc))
        self.display = exc is not None
