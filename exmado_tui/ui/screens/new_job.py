"""`NewJobScreen` (placeholder until built)."""

from textual.screen import Screen


class NewJobScreen(Screen[None]):
    BINDINGS = [("escape", "app.pop_screen", "Back")]
