"""`exmado notify test`: send one notice now to each [[notify]] target (or one), and say what
each answered. It goes straight to the targets, not through the outbox: a test is for now."""

from __future__ import annotations

import argparse

from exmado_tui.commands.context import Context, UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    notify = subparsers.add_parser("notify", help="notifications: send a test")
    actions = notify.add_subparsers(dest="action", required=True)
    test = actions.add_parser("test", help="send a test notice to each [[notify]] target now")
    test.add_argument("--target", metavar="NAME", help="only the [[notify]] entry of that name")
    test.set_defaults(handler=test_command)


def test_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.errors import DeliveryError
    from exmado_tui.notify.delivery import send
    from exmado_tui.notify.kinds import NoticeKind
    from exmado_tui.notify.outbox import body, message_id, test_data
    from exmado_tui.store.db import utcnow

    settings = ctx.settings.notify
    targets = [t for t in settings.targets if args.target in (None, t.name)]
    if not targets:
        known = ", ".join(t.name for t in settings.targets)
        raise UsageError(
            f"No [[notify]] entry named {args.target!r} (there are: {known})."
            if args.target and known
            else "No [[notify]] entry is configured: add one to your host file (see"
            " [notifications] in config/exmado.toml)."
        )
    notice = body(NoticeKind.TEST, utcnow(), test_data(ctx.settings.host))
    failed = 0
    for target in targets:
        msg_id = message_id()
        try:
            send(target, msg_id, notice, settings.timeout_s)
        except DeliveryError as exc:
            failed += 1
            print(f"✗ {target.name} ({target.kind}): {exc}")
        else:
            print(f"✓ {target.name} ({target.kind}): sent {msg_id}")
    return 1 if failed else 0
