"""The read-only guard: a dashboard started with --readonly refuses every action that changes
something, with a notice, and hides those actions' keys from the footer."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from textual.binding import ActiveBinding

from exmado_tui.ui.shared.app_access import exmado_app

F = TypeVar("F", bound=Callable[..., Any])
READONLY_NOTICE = "Read-only dashboard: {what} is disabled (started with --readonly)."


def mutating(method: F) -> F:
    """Mark an action method as changing something: in read-only mode it refuses with a notice
    (and its key is hidden from the footer, see `HidesMutatingKeysWhenReadOnly`)."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        app = exmado_app(self)
        if app.readonly:
            what = method.__name__.removeprefix("action_").replace("_", " ")
            app.notify(READONLY_NOTICE.format(what=what), severity="warning")
            return None
        return method(self, *args, **kwargs)

    guarded.mutating = True  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def is_mutating(node: Any, action: str) -> bool:
    name = action.split("(", 1)[0].rsplit(".", 1)[-1]
    return bool(getattr(getattr(node, f"action_{name}", None), "mutating", False))


class HidesMutatingKeysWhenReadOnly:
    """For a screen: in a read-only dashboard the keys of mutating actions stay bound (so they
    refuse with a notice) but the footer does not show them.

    Through `Screen.active_bindings`, the property the footer reads: the bindings themselves
    are not touched.
    """

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        active: dict[str, ActiveBinding] = super().active_bindings  # type: ignore[misc]
        if not exmado_app(self).readonly:
            return active
        return {key: _hidden_if_mutating(entry) for key, entry in active.items()}


def _hidden_if_mutating(entry: ActiveBinding) -> ActiveBinding:
    if not is_mutating(entry.node, entry.binding.action):
        return entry
    return entry._replace(binding=replace(entry.binding, show=False))
