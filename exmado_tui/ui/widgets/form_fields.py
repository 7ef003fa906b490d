"""The new-job forms' fields: `FieldRow`, a form line (a label and its fields, marked
`-focused` while one has focus), and `FormInput`, a text field that leaves Ctrl+E to its screen
(the form's "Create and start", shown in the footer); End still moves to the end of the text."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual import events
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label

SCREEN_KEYS = frozenset({"ctrl+e"})


def _input_bindings_except(keys: frozenset[str]) -> list[BindingType]:
    """Every binding an Input has (its own and inherited), one per key, but `keys`."""
    merged = Input._merge_bindings().key_to_bindings
    return [
        replace(binding, key=key)
        for key, bindings in merged.items()
        if key not in keys
        for binding in bindings
    ]


class FormInput(Input, inherit_bindings=False):
    """An Input without the editing keys the form uses for itself."""

    BINDINGS: ClassVar[list[BindingType]] = _input_bindings_except(SCREEN_KEYS)


class FieldRow(Horizontal):
    """Its label lights up while a field of the row has focus: compact fields have no border
    to show it. (A class, not `:focus-within`, which Textual does not re-apply to children.)"""

    def __init__(self, label: str, *fields: Widget, id: str | None = None) -> None:
        super().__init__(Label(label, classes="field-label"), *fields, classes="field-row", id=id)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.add_class("-focused")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.remove_class("-focused")
