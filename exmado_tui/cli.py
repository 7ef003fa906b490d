"""`exmado`: the command line; with no command it opens the dashboard. Each command's parser
and work live in `commands/`, but for `docuware` and `sandbox`, whose live in their own
package and are mounted here."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from exmado_tui.commands import dashboard, demo, doctor, jobs, ops, store, watch, workers
from exmado_tui.commands.context import Context, UsageError
from exmado_tui.config.loading import load_settings
from exmado_tui.docuware import cli as docuware_cli
from exmado_tui.errors import ExmadoError
from exmado_tui.formatting import visible_logs
from exmado_tui.sandbox import cli as sandbox_cli


def mount_packages(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The command groups whose parser and work live in their own package: `exmado docuware …`
    (the DocuWare probes, docuware/cli.py) and `exmado sandbox` (the bundled
    DocuWare-compatible server for demos and tests, sandbox/cli.py)."""
    docuware_cli.register(subparsers).set_defaults(handler=run_docuware)
    sandbox = subparsers.add_parser(
        "sandbox", help="run a DocuWare-compatible server with seeded demo documents"
    )
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(handler=run_sandbox)


def run_docuware(args: argparse.Namespace, ctx: Context) -> int:
    return docuware_cli.run(args, ctx.settings)


def run_sandbox(args: argparse.Namespace, ctx: Context) -> int:
    return sandbox_cli.run(args)


#: Each command's parser, in the order `exmado --help` lists them (a module of commands/ may
#: hold groups that stand apart in that list: `config` and `doctor`, `up` and `logs`).
REGISTER: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    jobs.register,
    doctor.register_config,
    mount_packages,
    watch.register,  # and `notify`, `schedule`
    dashboard.register,
    workers.register,
    ops.register,
    demo.register,
    store.register,
    doctor.register,
    ops.register_logs,
)

SERVICE_COMMANDS = {"worker", "watch", "sandbox", "serve"}
DASHBOARD_COMMANDS = {"exmado serve", "exmado demo"}  # the commands that open a dashboard
DASHBOARD_ONLY = "--readonly"


GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--config",), {"metavar": "PATH", "help": "host configuration file"}),
    (("--readonly",), {"action": "store_true", "help": "dashboard: watch only"}),
    (("-v", "--verbose"), {"action": "store_true", "help": "log more"}),
)


class _Version(argparse.Action):
    """`-V`: the installed version, read only when asked (importlib.metadata is not free)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from importlib.metadata import version

        print(f"exmado {version('exmado')}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exmado",
        description="Bulk export of DocuWare documents driven by Excel workbooks. "
        "With no COMMAND, exmado opens the dashboard (--readonly to watch only).",
        epilog="`exmado COMMAND --help` says more about each command.",
    )
    parser.add_argument("-V", "--version", action=_Version, help="print the version and exit")
    _add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in REGISTER:
        register(subparsers)
    for command in _commands(parser):
        # After the command too (`exmado jobs list -v`); only when given, so that
        # `exmado --config X jobs list` is not reset by the command's own default.
        # --readonly only where a dashboard opens.
        skip = () if command.prog in DASHBOARD_COMMANDS else (DASHBOARD_ONLY,)
        _add_global_options(command, skip, default=argparse.SUPPRESS)
    return parser


def _add_global_options(
    parser: argparse.ArgumentParser, skip: tuple[str, ...] = (), **overrides: Any
) -> None:
    for flags, options in GLOBAL_OPTIONS:
        if set(flags) & set(skip):
            continue
        if not any(flag in parser._option_string_actions for flag in flags):
            parser.add_argument(*flags, **{**options, **overrides})


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every sub-command's parser, at any depth (`jobs`, `jobs list`, …)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in dict.fromkeys(action.choices.values()):
                yield command
                yield from _commands(command)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    visible_logs()
    logging.basicConfig(
        level=logging.INFO if args.verbose else _quiet_level(args.command),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command not in SERVICE_COMMANDS and not args.verbose:
        # A job event (`jobs fail` records one at error level) is in the store and the
        # command says what it did; echoed as a log line it would read as the command failing.
        from exmado_tui.job.transitions import EVENT_LOGGER

        logging.getLogger(EVENT_LOGGER).setLevel(logging.CRITICAL)
    try:
        if getattr(args, "reads_own_settings", False):  # doctor: bad settings are a finding
            return args.handler(args)
        ctx = Context(load_settings(args.config))
        handler = getattr(args, "handler", None) or dashboard.open_dashboard
        return handler(args, ctx)
    except UsageError as exc:
        print(f"exmado: {exc}", file=sys.stderr)
        return 2
    except ExmadoError as exc:
        print(f"exmado: {exc}", file=sys.stderr)
        return 1
    except TimeoutError as exc:
        print(f"exmado: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `exmado jobs list | head`: the reader is gone; say nothing, and keep the
        # interpreter's final flush of stdout from failing again.
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _quiet_level(command: str | None) -> int:
    """Services log warnings (retries, throttling); one-shot commands only their result."""
    return logging.WARNING if command in SERVICE_COMMANDS else logging.ERROR


if __name__ == "__main__":
    sys.exit(main())
