"""`FieldRow`: a form line, a label and its fields, marked `-focused` while one has focus."""

from __future__ import annotations

from textual import events
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label


class FieldRow(Horizontal):
    """Its label lights up while a field of the row has focus: compact fields have no border
    to show it. (A class, not `:focus-within`, which Textual does not re-apply to children.)"""

    def __init__(self, label: str, *fields: Widget, id: str | None = None) -> None:
        super().__init__(Label(label, classes="field-label"), *fields, classes="field-row", id=id)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.add_class("-focused")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.remove_class("-focused")
