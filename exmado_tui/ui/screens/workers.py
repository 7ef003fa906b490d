"""`WorkersScreen` (placeholder until built)."""

from textual.screen import Screen


class WorkersScreen(Screen[None]):
    BINDINGS = [("escape", "app.pop_screen", "Back")]
