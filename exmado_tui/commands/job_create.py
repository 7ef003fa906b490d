"""`exmado jobs create`: a job from a workbook, from the old system's JSON payload, or (with
`--query CABINET FIELD=VALUE …`) from what a DocuWare query finds.

A query's conditions are checked against the dialog's fields and their types and the documents
are counted (DocuWare's `CountExpression`) before anything is stored; a query that finds
nothing is refused. The worker then reads the documents in ranges of ids
(`docuware/paging.py`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exmado_tui.commands.context import Context, UsageError, seconds
from exmado_tui.commands.job_views import print_job, wait_for_end
from exmado_tui.errors import ProfileError, QueryError, WorkbookError
from exmado_tui.job.query_source import QuerySource, counted, since_last_run
from exmado_tui.job.status import JobStatus
from exmado_tui.workbook.checks import open_in_excel_warning

if TYPE_CHECKING:  # a new job and the store's queries load peewee: imported when they run
    from exmado_tui.job.new_job import JobRequest
    from exmado_tui.store.queries import JobDetail


def register(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = actions.add_parser("create", help="create a job from a workbook")
    create.add_argument("excel", nargs="?", type=Path, help="the .xlsx, .xlsm or .csv file")
    create.add_argument(
        "--from-json",
        type=Path,
        metavar="FILE",
        help="an old-system payload (user_name, excel_file_name, …)",
    )
    create.add_argument(
        "--query",
        nargs="*",
        metavar="ARG",
        help="CABINET FIELD=VALUE …: a job of every document the query finds, instead of a "
        "workbook (VALUE: x, a*, a..b, a.., ..b, EMPTY(), NOTEMPTY()); alone: the profile's "
        "saved [query]",
    )
    create.add_argument("--dialog", help="with --query: the search dialog (default: the cabinet's)")
    create.add_argument(
        "--since-last-run",
        action="store_true",
        help="with --query: only the documents stored or modified since the previous "
        "completed run of the same query (all of them the first time)",
    )
    create.add_argument("--profile", help="profile name (config/profiles/NAME.toml)")
    create.add_argument("--output", type=Path, help="output folder")
    create.add_argument("--name", help="job name (default: the workbook's name)")
    create.add_argument("--user", help="who asks (default: the login name)")
    create.add_argument("--start", action="store_true", help="queue it at once")
    create.add_argument("--wait", action="store_true", help="with --start: wait for the end")
    create.add_argument("--timeout", type=seconds, default=None, help="with --wait: seconds")
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(handler=create_command)


def create_command(args: argparse.Namespace, ctx: Context) -> int:
    if args.query is not None:
        return _create_from_query(args, ctx)
    if args.since_last_run:
        raise UsageError("--since-last-run is for a query job: add --query.")
    request = _workbook_request(args, ctx)
    if args.wait and not request.start:
        raise UsageError("--wait needs --start (or config.auto_start in the payload).")
    job = ctx.service.create(request)
    if warning := open_in_excel_warning(Path(str(request.workbook)).expanduser()):
        print(f"exmado: warning: {warning}", file=sys.stderr)
    if args.wait:
        job = wait_for_end(ctx, job.id, args.timeout)
    print_job(job, args.json, ctx) if args.json or args.wait else print(
        f"Created job {job.short_id} ({job.name}): {job.status.value}"
        + (", queued." if request.start else f"; start it with `exmado jobs start {job.short_id}`.")
    )
    return 0 if not args.wait or job.status is JobStatus.COMPLETED else 1


def _create_from_query(args: argparse.Namespace, ctx: Context) -> int:
    if args.excel or args.from_json:
        raise UsageError("--query makes a job without a workbook: give one or the other.")
    if args.dialog is not None and not args.dialog.strip():
        raise UsageError("--dialog needs a dialog name or id.")
    if args.wait and not args.start:
        raise UsageError("--wait needs --start.")
    job = create_from_query(ctx, args)
    counted = job.config["query"]["counted"]
    if args.wait:
        job = wait_for_end(ctx, job.id, args.timeout)
    if args.json or args.wait:
        print_job(job, args.json, ctx)
    else:
        then = ", queued." if args.start else f"; start it with `exmado jobs start {job.short_id}`."
        print(
            f"Created job {job.short_id} ({job.name}): {job.status.value}, "
            f"{counted:,} documents counted{then}"
        )
    return 0 if not args.wait or job.status is JobStatus.COMPLETED else 1


def _workbook_request(args: argparse.Namespace, ctx: Context) -> JobRequest:
    """The job `jobs create FILE` or `--from-json FILE` asks for (what the payload says wins;
    --start, --profile and the rest fill in what it leaves out)."""
    from exmado_tui.job.new_job import JobRequest

    request = JobRequest(
        args.excel,
        profile=args.profile,
        output=args.output,
        name=args.name,
        user=args.user,
        start=args.start,
    )
    if args.from_json:
        payload = _from_legacy_payload(args.from_json)
        request = replace(
            payload,
            profile=payload.profile
            or args.profile
            or _default_profile(args.from_json, payload, ctx),
            output=payload.output or args.output,
            name=payload.name or args.name,
            user=payload.user or args.user,
            start=payload.start or args.start,
        )
    if request.workbook is None:
        raise WorkbookError("Give a workbook: `exmado jobs create FILE.xlsx` or --from-json FILE.")
    return request


def _default_profile(path: Path, payload: JobRequest, ctx: Context) -> str | None:
    """`[jobs] default_profile` for a payload that names no profile and maps no columns."""
    config = payload.config or {}
    if config.get("cabinet") and config.get("columns"):
        return None
    if not ctx.settings.jobs.default_profile:
        raise ProfileError(
            f"Job payload {path} names no profile (config.profile); pass --profile NAME "
            "or set [jobs] default_profile in the configuration."
        )
    return ctx.settings.jobs.default_profile


def _read_payload(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkbookError(f"Job payload {path} cannot be read: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise WorkbookError(
            f"Job payload {path} is not UTF-8 text; save it as UTF-8 JSON."
        ) from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkbookError(f"Job payload {path} cannot be read as JSON: {exc}.") from None
    if not isinstance(payload, dict) or not payload.get("excel_file_name"):
        raise WorkbookError(f"Job payload {path} has no excel_file_name.")
    return payload


def _payload_text(path: Path, data: dict[str, Any], key: str, label: str = "") -> str | None:
    """An optional text field of the payload; anything but text is refused by name."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise WorkbookError(f"Job payload {path}: {label or key} must be text, got {value!r}.")
    return value


def _from_legacy_payload(path: Path) -> JobRequest:
    """The old system's job payload as the job it asks for."""
    from exmado_tui.config.profiles import Profile
    from exmado_tui.job.new_job import JobRequest

    payload = _read_payload(path)
    workbook = Path(_payload_text(path, payload, "excel_file_name") or "").expanduser()
    config = payload.get("config") or {}
    if not isinstance(config, dict):
        raise WorkbookError(f"Job payload {path}: config must be a table, got {config!r}.")
    config = dict(config)
    auto_start = config.pop("auto_start", False)
    if not isinstance(auto_start, bool):
        raise WorkbookError(
            f"Job payload {path}: config.auto_start must be true or false, got {auto_start!r}."
        )
    profile = _payload_text(path, config, "profile", "config.profile")
    config.pop("profile", None)
    output = _payload_text(path, payload, "output_directory")
    unknown = sorted(k for k in config if k not in Profile.__dataclass_fields__)
    if unknown:
        print(
            f"exmado: ignoring unknown config keys in {path}: {', '.join(unknown)}", file=sys.stderr
        )
    return JobRequest(
        workbook if workbook.is_absolute() else path.parent / workbook,
        profile=profile,
        config={k: v for k, v in config.items() if k in Profile.__dataclass_fields__},
        output=Path(output).expanduser() if output else None,
        name=_payload_text(path, payload, "job_name"),
        user=_payload_text(path, payload, "user_name"),
        start=auto_start,
    )


def counted_source(ctx: Context, args: argparse.Namespace) -> QuerySource:
    """The query of `--query CABINET COND…` with its count; refused in one sentence."""
    source = asked_query(ctx, args)
    if args.since_last_run:
        ctx.open_store()  # the previous run is looked up there
        source = since_last_run(source, ctx.settings.jobs.since_overlap_s)
    source = counted(ctx.settings.docuware, source)
    if source.counted == 0:
        raise QueryError(f"The {source.text} finds no document; nothing to export.")
    return source


def asked_query(ctx: Context, args: argparse.Namespace) -> QuerySource:
    """`--query CABINET COND…`, or with `--query` alone the profile's saved `[query]`;
    `--dialog` wins over the dialog it names."""
    from exmado_tui.config.profiles import load_profile, saved_query

    if args.query:
        cabinet, *conditions = args.query
        return QuerySource(cabinet, tuple(conditions), args.dialog or "")
    if not args.profile:
        raise QueryError(
            "--query alone exports a profile's saved [query]: add --profile NAME, or give the "
            "query: --query CABINET FIELD=VALUE …"
        )
    profile = load_profile(ctx.settings.profile_dirs, args.profile)
    saved = saved_query(profile, f"Profile {args.profile!r}")
    if saved is None:
        raise QueryError(
            f"Profile {args.profile!r} has no [query]; add one (cabinet, dialog, conditions) "
            "or give the query: --query CABINET FIELD=VALUE …"
        )
    return replace(saved, dialog=args.dialog or saved.dialog)


def create_from_query(ctx: Context, args: argparse.Namespace) -> JobDetail:
    from exmado_tui.job.new_job import JobRequest

    source = counted_source(ctx, args)
    return ctx.service.create(
        JobRequest(
            source,
            profile=args.profile,
            output=args.output,
            name=args.name,
            user=args.user,
            start=args.start,
        )
    )
