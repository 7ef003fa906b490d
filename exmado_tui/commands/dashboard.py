"""`exmado` with no command, and `exmado demo --dashboard`: the full-screen dashboard."""

from __future__ import annotations

import argparse

from exmado_tui.commands.context import Context


def open_dashboard(args: argparse.Namespace, ctx: Context) -> int:
    # Textual is imported here, not at the top: the CLI's other commands start without it.
    from exmado_tui.ui.app import make_app

    ctx.open_store()
    app = make_app(ctx.settings, readonly=args.readonly)
    app.run()
    return app.return_code or 0
