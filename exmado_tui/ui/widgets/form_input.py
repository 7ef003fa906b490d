"""`FormInput`: a text field that leaves Ctrl+E to its screen (the New-job form's "Create and
start", shown in the footer); End still moves to the end of the text."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual.binding import BindingType
from textual.widgets import Input

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
