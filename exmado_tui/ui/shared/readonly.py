"""The read-only rule, in one place: a dashboard started with --readonly (`exmado serve
--readonly`) runs no action marked `@mutating`, and shows no key for one.

Two public Textual hooks apply it, both from here. `check_action` hides: Textual asks it of
the node that binds a key, so a screen with mutating actions mixes in `HidesMutatingKeys`,
and their keys leave the footer and the command palette. `App.run_action` refuses: every key,
button and palette command goes through it, so `ExmadoApp` asks `refused` first, and a
mutating action is answered with a notice instead of being run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual.actions import ActionParseResult, parse
from textual.dom import DOMNode

from exmado_tui.ui.shared.app_access import exmado_app

F = TypeVar("F", bound=Callable[..., Any])
READONLY_NOTICE = "Read-only dashboard: {what} is disabled (started with --readonly)."


def mutating(method: F) -> F:
    """Mark an action method as changing something: a read-only dashboard neither runs it nor
    shows its key."""
    method.mutating = True  # type: ignore[attr-defined]
    return method


def is_mutating(node: object, action: str | ActionParseResult) -> bool:
    """Whether `action`, run on `node`, is an action method marked `@mutating`."""
    name = (parse(action) if isinstance(action, str) else action)[1]
    return bool(getattr(getattr(node, f"action_{name}", None), "mutating", False))


def refused(node: DOMNode, action: str | ActionParseResult) -> bool:
    """In a read-only dashboard, refuse a mutating action with a notice (True: refused)."""
    app = exmado_app(node)
    if not app.readonly or not is_mutating(node, action):
        return False
    name = (parse(action) if isinstance(action, str) else action)[1]
    app.notify(READONLY_NOTICE.format(what=name.replace("_", " ")), severity="warning")
    return True


class HidesMutatingKeys:
    """For a screen: in a read-only dashboard its mutating actions are disabled and hidden (the
    key still reaches `ExmadoApp.run_action`, which says why nothing happens)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (exmado_app(self).readonly and is_mutating(self, action))
