"""`exmado docuware …`: check the connection, list cabinets/dialogs/fields, search, download,
forget the lookups the workers share.

The main CLI calls `register(subparsers)` and later `run(args, settings)`; `run` returns the
exit code (0 ok, 1 failure) and prints failures as one sentence on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from exmado_tui.config.profiles import DOWNLOAD_TARGETS, FORMATS
from exmado_tui.config.settings import DocuWareSettings, Settings
from exmado_tui.docuware.models import Document
from exmado_tui.docuware.query import And, Condition, Or, Wanted, parse_conditions
from exmado_tui.docuware.values import FieldValue, format_value
from exmado_tui.errors import ExmadoError
from exmado_tui.files import first_free, make_folder, move_into_place

if TYPE_CHECKING:  # the session loads httpx: `exmado --help` does not need it
    from exmado_tui.docuware.session import DocuWareSession

Handler = Callable[[argparse.Namespace, "DocuWareSession", TextIO], int]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `docuware` and its sub-commands to the main CLI's subparsers."""
    parser = subparsers.add_parser("docuware", help="talk to the DocuWare server directly")
    commands = parser.add_subparsers(dest="docuware_command", metavar="COMMAND", required=True)
    add_json(commands.add_parser("check", help="server version, sign-in, visible cabinets"))
    add_json(commands.add_parser("cabinets", help="list file cabinets"))
    dialogs = commands.add_parser("dialogs", help="list the search dialogs of a cabinet")
    add_json(dialogs, cabinet=True)
    fields = commands.add_parser("fields", help="list the fields of a cabinet")
    add_json(fields, cabinet=True)
    fields.add_argument("--dialog", help="fields of this search dialog instead of the cabinet")
    search = commands.add_parser("search", help="search a cabinet: FIELD=VALUE ...")
    add_json(search, cabinet=True)
    search.add_argument(
        "conditions",
        nargs="+",
        metavar="FIELD=VALUE",
        help="VALUE: x (exact), a* (wildcard), a..b, ..b, a.. (range), EMPTY(), NOTEMPTY()",
    )
    search.add_argument("--or", dest="any", action="store_true", help="match any condition")
    search.add_argument("--limit", type=int, default=100, help="at most N documents (0 = all)")
    search.add_argument("--dialog", help="search dialog id (default: the cabinet's default)")
    download = commands.add_parser("download", help="download one document")
    download.add_argument("cabinet")
    download.add_argument("doc_id", type=int, metavar="DOC_ID")
    download.add_argument(
        "dest",
        metavar="DEST",
        help="a folder (one that exists, or any path ending in /: created) or a file name",
    )
    download.add_argument(
        "--format", choices=FORMATS, default="original", help="as in profiles (default original)"
    )
    commands.add_parser(
        "forget",
        help="forget the cabinets, dialogs and fields the workers share (read again when needed)",
    )
    parser.set_defaults(command_module="docuware")
    return parser


add_arguments = register


def add_json(parser: argparse.ArgumentParser, *, cabinet: bool = False) -> None:
    if cabinet:
        parser.add_argument("cabinet", metavar="CABINET", help="cabinet name or id")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def build_parser() -> argparse.ArgumentParser:
    """A parser holding only `docuware …`, for tests and `python -m`."""
    parser = argparse.ArgumentParser(prog="exmado")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def run(
    args: argparse.Namespace,
    settings: Any,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    **client_options: Any,
) -> int:
    """Execute one `docuware` sub-command; `settings` is `Settings` or `DocuWareSettings`."""
    from exmado_tui.docuware.auth import by_hand_sentence
    from exmado_tui.docuware.errors import AuthenticationError
    from exmado_tui.docuware.session import DocuWareSession

    out, err = out or sys.stdout, err or sys.stderr
    if args.docuware_command == "forget":  # Redis only: no DocuWare session
        return forget_lookups(settings, out, err)
    dw: DocuWareSettings = getattr(settings, "docuware", settings)
    args.signins = worker_signins(settings) if args.docuware_command == "check" else ""
    try:
        condition_list = parse_conditions(args.conditions) if hasattr(args, "conditions") else []
        args.parsed_conditions = condition_list
        jobs = getattr(settings, "jobs", None)  # `[jobs] max_document_mb` bounds a download too
        args.max_document_mb = jobs.max_document_mb if jobs is not None else None
        with DocuWareSession(dw, **client_options) as session:
            return HANDLERS[args.docuware_command](args, session, out)
    except AuthenticationError as exc:  # run by hand: no workers to restart, no job to retry
        print(f"exmado: {by_hand_sentence(exc, dw)}", file=err)
    except (ExmadoError, ValueError) as exc:
        print(f"exmado: {exc}", file=err)
    except BrokenPipeError:
        raise  # `| head` closed the pipe: the main CLI ends quietly
    except OSError as exc:
        print(f"exmado: {exc.strerror or exc} ({exc.filename or 'file'}).", file=err)
    return 1


# --- commands --------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, session: DocuWareSession, out: TextIO) -> int:
    description = session.service_description()
    mode = session.login()
    cabinets = session.file_cabinets()
    settings = session.client.settings
    if args.json:
        report = {
            "url": settings.url,
            "version": description.version,
            "auth_mode": mode,
            "user": settings.signer,
            "cabinets": [c.name for c in cabinets],
            "worker_signins_last_hour": int(args.signins) if args.signins.isdigit() else None,
        }
        json.dump(report, out, indent=2, sort_keys=True)
        out.write("\n")
        return 0
    print(f"Server: {settings.url} (DocuWare {description.version or 'version unknown'})", file=out)
    print(f"Signed in as {settings.signer} using {mode}", file=out)
    names = ", ".join(c.name for c in cabinets) or "none"
    print(f"File cabinets visible ({len(cabinets)}): {names}", file=out)
    print(f"Sign-ins by the workers in the last hour: {args.signins}", file=out)
    return 0


def worker_signins(settings: Any) -> str:
    """How many times the workers signed in during the last hour (each cookie logon may take
    a licence seat until it is logged off), as the shared budget counted them in Redis."""
    broker = getattr(settings, "broker", None)
    if broker is None or not settings.docuware.shared_budget:
        return "not counted (no shared request budget)"
    import redis

    from exmado_tui.docuware.budget_store import signins_last_hour
    from exmado_tui.services.queue import redis_client

    try:
        client = redis_client(broker, connect_timeout_s=1, reply_timeout_s=2)
        return str(signins_last_hour(client, settings.docuware))
    except redis.RedisError as exc:
        return f"unknown (Redis at {broker.url} cannot be reached: {exc})"


def cmd_cabinets(args: argparse.Namespace, session: DocuWareSession, out: TextIO) -> int:
    rows = [{"id": c.id, "name": c.name} for c in session.file_cabinets()]
    return emit(args, out, rows, ("name", "id"))


def cmd_dialogs(args: argparse.Namespace, session: DocuWareSession, out: TextIO) -> int:
    infos = session.search_dialogs(args.cabinet)
    rows = [{"id": d.id, "name": d.name, "default": d.is_default} for d in infos]
    return emit(args, out, rows, ("name", "id", "default"))


def cmd_fields(args: argparse.Namespace, session: DocuWareSession, out: TextIO) -> int:
    if args.dialog:
        fields = list(session.dialog(args.cabinet, args.dialog).fields)
    else:
        fields = session.cabinet_fields(args.cabinet)
    rows = [{"db_name": f.db_name, "label": f.label, "type": f.type} for f in fields]
    return emit(args, out, rows, ("db_name", "label", "type"))


def cmd_search(args: argparse.Namespace, session: DocuWareSession, out: TextIO) -> int:
    dialog = session.dialog(args.cabinet, args.dialog)
    conditions = [_resolve(c, dialog.field) for c in args.parsed_conditions]
    query = Or(*conditions) if args.any else And(*conditions)
    names = list(dict.fromkeys(c.field for c in conditions))
    documents = list(
        session.search(
            args.cabinet, query, dialog=dialog.id, fields=names, limit=args.limit or None
        )
    )
    if args.json:
        json.dump([document_json(d) for d in documents], out, indent=2, sort_keys=True)
        out.write("\n")
        return 0
    rows = [{"id": d.id, "title": d.title, **{n: d.get_text(n) for n in names}} for d in documents]
    emit_table(out, rows, ("id", "title", *names))
    print(f"{len(documents)} document(s)", file=out)
    return 0


def cmd_download(args: argparse.Namespace, session: DocuWareSession, out: TextIO) -> int:
    into_folder = is_folder_destination(args.dest)
    dest = Path(args.dest)
    folder = dest if into_folder else dest.parent
    cabinet = session.find_cabinet(args.cabinet)
    make_folder(folder)
    partial = folder / f".exmado-{args.doc_id}.part"
    target = DOWNLOAD_TARGETS[args.format]
    result = session.download(
        (cabinet.id, args.doc_id), partial, target=target, max_mb=args.max_document_mb
    )
    final = first_free(folder / result.filename if into_folder else dest)
    move_into_place(partial, final, synced=True)  # the download fsynced it
    print(f"Saved {final} ({result.size} bytes, {result.content_type})", file=out)
    return 0


def is_folder_destination(dest: str) -> bool:
    """`DIR/` names a folder (created when missing), as does a folder that exists; anything
    else is the file to write."""
    return dest.endswith(("/", os.sep)) or Path(dest).is_dir()


HANDLERS: dict[str, Handler] = {
    "check": cmd_check,
    "cabinets": cmd_cabinets,
    "dialogs": cmd_dialogs,
    "fields": cmd_fields,
    "search": cmd_search,
    "download": cmd_download,
}


def forget_lookups(settings: Settings, out: TextIO, err: TextIO) -> int:
    """`docuware forget`: drop the lookups the workers share in Redis for this server and
    account, after a DocuWare admin changed a cabinet or dialog (else kept an hour)."""
    import redis

    from exmado_tui.docuware.budget_store import PREFIX, account_key, forget
    from exmado_tui.services.queue import redis_client

    dw = settings.docuware
    try:
        count = forget(redis_client(settings.broker), PREFIX + account_key(dw))
    except redis.RedisError as exc:
        print(f"exmado: cannot reach Redis at {settings.broker.url} ({exc}).", file=err)
        return 1
    print(
        f"Forgot {count} shared DocuWare lookup(s) for {dw.url} as {dw.signer}: the next job "
        "reads the organization, cabinets, dialogs and fields from DocuWare. A running worker "
        "keeps those it read until it restarts (`exmado down`, then `exmado up`).",
        file=out,
    )
    return 0


# --- output ----------------------------------------------------------------------------


def _resolve(wanted: Wanted, lookup: Callable[[str], Any]) -> Condition:
    """Accept a field label as well as its DB name, the value checked against its type;
    unknown names go to DocuWare as given."""
    return wanted.condition(lookup(wanted.field))


def json_value(value: FieldValue) -> Any:
    """Stable JSON: ISO dates, decimals as strings, keywords as lists, tables as row dicts."""
    if isinstance(value, list):
        return [json_value(v) if not isinstance(v, dict) else _row(v) for v in value]
    if value is None or isinstance(value, str | int):
        return value
    return format_value(value)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: json_value(v) for k, v in row.items()}


def document_json(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "cabinet_id": document.cabinet_id,
        "title": document.title,
        "content_type": document.content_type,
        "file_size": document.file_size,
        "section_count": document.section_count,
        "fields": {k: json_value(v) for k, v in document.fields.items()},
    }


def emit(
    args: argparse.Namespace, out: TextIO, rows: list[dict[str, Any]], columns: Sequence[str]
) -> int:
    if getattr(args, "json", False):
        json.dump(rows, out, indent=2, sort_keys=True)
        out.write("\n")
    else:
        emit_table(out, rows, columns)
    return 0


def emit_table(out: TextIO, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    for line in [[c.upper() for c in columns], *cells]:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip(), file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m exmado_tui.docuware.cli docuware …` with the normal settings."""
    from exmado_tui.config.loading import load_settings

    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ExmadoError as exc:
        print(f"exmado: {exc}", file=sys.stderr)
        return 1
    return run(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
