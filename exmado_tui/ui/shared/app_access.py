"""The dashboard's app, typed, for its screens, modals and widgets.

Textual types `node.app` as `App[Any]`, so `self.app.backend` would check nothing; every
part of the dashboard reaches the app through `exmado_app(self)` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.dom import DOMNode

if TYPE_CHECKING:
    from exmado_tui.ui.app import ExmadoApp


def exmado_app(node: object) -> ExmadoApp:
    """The `ExmadoApp` that `node` (a screen, modal or widget, or a mixin of one) runs in."""
    from exmado_tui.ui.app import ExmadoApp  # the app module imports every screen

    if not isinstance(node, DOMNode):
        raise TypeError(f"{type(node).__name__} is no part of a Textual app")
    app = node.app
    if not isinstance(app, ExmadoApp):
        raise TypeError(f"{type(node).__name__} runs in {type(app).__name__}, not ExmadoApp")
    return app
