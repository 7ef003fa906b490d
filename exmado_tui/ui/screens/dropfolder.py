"""`DropFolderScreen` (placeholder until built)."""

from textual.screen import Screen


class DropFolderScreen(Screen[None]):
    BINDINGS = [("escape", "app.pop_screen", "Back")]
