"""`exmado jobs …`: list, show, create and control jobs from scripts and shells."""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from exmado_tui import pace
from exmado_tui.commands import job_views
from exmado_tui.commands.context import (
    Context,
    UsageError,
    add_job_command,
    confirmed,
    print_json,
)
from exmado_tui.errors import PermanentError, ProfileError, WorkbookError
from exmado_tui.formatting import duration, local_time
from exmado_tui.lifecycle import JobStatus

if TYPE_CHECKING:  # the store's queries load peewee: a command imports them when it runs
    from exmado_tui.queries import JobDetail

ACTIONS = ("start", "pause", "resume", "cancel", "retry")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = subparsers.add_parser("jobs", help="list, create and control jobs")
    actions = jobs.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="list jobs, newest first")
    listing.add_argument(
        "text", nargs="?", help="only jobs whose name, user, workbook or id contains TEXT"
    )
    listing.add_argument(
        "--since",
        type=_since,
        metavar="WHEN",
        help="only jobs created since WHEN: 2026-11-28, '2026-11-28 14:00', or 90m, 12h, 7d ago",
    )
    listing.add_argument("--status", action="append", type=_status, help="only this status")
    listing.add_argument("--limit", type=_count, default=None, help="at most N jobs")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)

    add_job_command(actions, "show", "one job in full", show_command)

    _register_create(actions)

    for name in ACTIONS:
        add_job_command(actions, name, f"{name} a job", action_command)

    fail = add_job_command(
        actions, "fail", "mark a job that is known to be dead as FAILED", fail_command
    )
    fail.add_argument("--reason", default="", help="why, for the event log")

    delete = add_job_command(
        actions,
        "delete",
        "delete a job (its files stay unless told)",
        delete_command,
        json_output=False,
    )
    delete.add_argument("--delete-files", action="store_true", help="remove its output folder")
    delete.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")

    wait = add_job_command(
        actions, "wait", "wait until a job ends; exit 1 unless COMPLETED", wait_command
    )
    wait.add_argument("--timeout", type=_seconds, default=None, help="give up after S seconds")

    _register_operator_actions(actions)
    job_views.register(actions)


def _register_operator_actions(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    add_job_command(
        actions, "report", "rebuild a job's report workbook and manifest", report_command
    )
    terminate = add_job_command(
        actions,
        "terminate",
        "stop a job now: CANCELLED at once, its worker drops it",
        terminate_command,
    )
    terminate.add_argument("--reason", default="", help="why, for the event log")


def _register_create(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = actions.add_parser("create", help="create a job from a workbook")
    create.add_argument("excel", nargs="?", type=Path, help="the .xlsx, .xlsm or .csv file")
    create.add_argument(
        "--from-json",
        type=Path,
        metavar="FILE",
        help="an old-system payload (user_name, excel_file_name, …)",
    )
    create.add_argument("--profile", help="profile name (config/profiles/NAME.toml)")
    create.add_argument("--output", type=Path, help="output folder")
    create.add_argument("--name", help="job name (default: the workbook's name)")
    create.add_argument("--user", help="who asks (default: the login name)")
    create.add_argument("--start", action="store_true", help="queue it at once")
    create.add_argument("--wait", action="store_true", help="with --start: wait for the end")
    create.add_argument("--timeout", type=_seconds, default=None, help="with --wait: seconds")
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(handler=create_command)


def _status(text: str) -> JobStatus:
    try:
        return JobStatus(text.upper())
    except ValueError:
        known = ", ".join(s.value for s in JobStatus)
        raise argparse.ArgumentTypeError(f"unknown status {text!r} (one of {known})") from None


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds ≥ 0, got {text!r}")
    return seconds


AGO = {"m": "minutes", "h": "hours", "d": "days"}


def _since(text: str) -> Callable[[ZoneInfo], datetime]:
    """WHEN → a function of the user's zone giving naive UTC: `7d`, `12h`, `90m` ago, or a
    local date or date and time."""
    number, unit = text[:-1], text[-1:].lower()
    if unit in AGO and number.isdigit():
        moment = datetime.now(UTC).replace(tzinfo=None) - timedelta(**{AGO[unit]: int(number)})
        return lambda zone: moment
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a date (2026-11-28), a date and time (2026-11-28 14:00) or an age "
            f"(90m, 12h, 7d), got {text!r}"
        ) from None
    return lambda zone: (
        local.replace(tzinfo=local.tzinfo or zone).astimezone(UTC).replace(tzinfo=None)
    )


def _count(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 1, got {text!r}")
    return number


def list_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.queries import list_jobs

    ctx.open_store()
    since = args.since(ctx.settings.zone) if args.since else None
    jobs = list_jobs(statuses=args.status, text=args.text, since=since, limit=args.limit)
    if args.json:
        print_json([job.to_json() for job in jobs])
        return 0
    header = (
        f"{'ID':8}  {'STATUS':22} {'PROGRESS':>8} {'ROWS':>11} {'FOUND':>6} {'MISS':>5} "
        f"{'FAIL':>5}  {'CREATED':16}  {'USER':10} NAME"
    )
    print(header)
    for job in jobs:
        print(
            f"{job.short_id:8}  {job.status.value:22} {job.progress:>8.0%} "
            f"{f'{job.done_rows}/{job.total_rows}':>11} {job.found_rows:>6} "
            f"{job.not_found_rows:>5} {job.failed_rows:>5}  "
            f"{local_time(job.created_at, ctx.settings.zone):16}  {job.user[:10]:10} {job.name}"
        )
    if not jobs:
        print("(no jobs)")
    return 0


def show_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.queries import get_job

    ctx.open_store()
    _print_job(get_job(args.id), args.json, ctx)
    return 0


def _print_job(job: JobDetail, as_json: bool, ctx: Context) -> None:
    if as_json:
        from exmado_tui.queries import row_counts

        print_json({**job.to_json(), "row_counts": row_counts(job.id)})
        return
    from exmado_tui.db import utcnow

    zone = ctx.settings.zone
    lines = [
        ("Job", f"{job.id}  ({job.name})"),
        ("Status", job.status.value + (f"  [{job.control} requested]" if job.control else "")),
        ("Waiting", job.wait_reason or "-"),
        (
            "Rows",
            f"{job.done_rows}/{job.total_rows} done ({job.progress:.0%}): "
            f"{job.found_rows} found, {job.not_found_rows} not found, "
            f"{job.ambiguous_rows} ambiguous, {job.failed_rows} failed, "
            f"{job.skipped_rows} skipped",
        ),
        ("Files", f"{job.files_count} in {job.output_dir}"),
        ("Workbook", f"{job.workbook_name}  sha256 {job.workbook_sha256[:16]}…"),
        ("Profile", job.profile or "-"),
        ("By", f"{job.user} via {job.source}"),
        ("Created", local_time(job.created_at, zone)),
        ("Started", local_time(job.started_at, zone)),
        ("Finished", local_time(job.finished_at, zone)),
        ("Duration", duration(pace.duration_s(job, utcnow()))),
        ("Last error", job.last_error or "-"),
    ]
    for label, value in lines:
        print(f"{label + ':':12} {value}")


def create_command(args: argparse.Namespace, ctx: Context) -> int:
    options = _create_options(args, ctx)
    if args.wait and not options["start"]:
        raise UsageError("--wait needs --start (or config.auto_start in the payload).")
    job = ctx.service.create(**options)
    if args.wait:
        job = _wait(ctx, job.id, args.timeout)
    _print_job(job, args.json, ctx) if args.json or args.wait else print(
        f"Created job {job.short_id} ({job.name}): {job.status.value}"
        + (
            ", queued."
            if options["start"]
            else f"; start it with `exmado jobs start {job.short_id}`."
        )
    )
    return 0 if not args.wait or job.status is JobStatus.COMPLETED else 1


def _create_options(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    options: dict[str, Any] = {
        "workbook": args.excel,
        "profile": args.profile,
        "output": args.output,
        "name": args.name,
        "user": args.user,
        "start": args.start,
        "config": None,
    }
    if args.from_json:
        options.update(_from_legacy_payload(args.from_json))
        options["profile"] = options["profile"] or _default_profile(args.from_json, options, ctx)
        options["start"] = options["start"] or args.start  # --start wins over auto_start false
    if options["workbook"] is None:
        raise WorkbookError("Give a workbook: `exmado jobs create FILE.xlsx` or --from-json FILE.")
    return options


def _default_profile(path: Path, options: dict[str, Any], ctx: Context) -> str | None:
    """`[jobs] default_profile` for a payload that names no profile and maps no columns."""
    config = options.get("config") or {}
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


def _from_legacy_payload(path: Path) -> dict[str, Any]:
    """Map the old system's job payload onto `create` options."""
    from exmado_tui.profiles import Profile

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
    options: dict[str, Any] = {
        "workbook": workbook if workbook.is_absolute() else path.parent / workbook,
        "start": auto_start,
        "profile": _payload_text(path, config, "profile", "config.profile"),
        "user": _payload_text(path, payload, "user_name"),
        "name": _payload_text(path, payload, "job_name"),
    }
    config.pop("profile", None)
    output = _payload_text(path, payload, "output_directory")
    if output:
        options["output"] = Path(output).expanduser()
    unknown = sorted(k for k in config if k not in Profile.__dataclass_fields__)
    if unknown:
        print(
            f"exmado: ignoring unknown config keys in {path}: {', '.join(unknown)}", file=sys.stderr
        )
    options["config"] = {k: v for k, v in config.items() if k in Profile.__dataclass_fields__}
    return {k: v for k, v in options.items() if v is not None}


def print_state(job: JobDetail, as_json: bool) -> None:
    """The job as JSON, or one line: its id, state and any request still pending."""
    if as_json:
        print_json(job.to_json())
        return
    pending = f" ({job.control} requested)" if job.control and not job.status.is_final else ""
    print(f"Job {job.short_id}: {job.status.value}{pending}")


def action_command(args: argparse.Namespace, ctx: Context) -> int:
    job = getattr(ctx.service, args.action)(args.id)
    if args.action == "start" and not args.json:
        print(f"Job {job.short_id} queued for the workers ({job.wait_reason}).")
    else:
        print_state(job, args.json)
    return 0


def fail_command(args: argparse.Namespace, ctx: Context) -> int:
    print_state(ctx.service.fail(args.id, args.reason), args.json)
    return 0


def delete_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.queries import get_job

    service = ctx.service  # opens the store
    job = get_job(args.id)
    if not args.yes and not _delete_confirmed(job, args.delete_files):
        print("Nothing deleted.")
        return 1
    service.delete(job.id, keep_files=not args.delete_files)
    kept = "deleted its files too" if args.delete_files else f"files kept in {job.output_dir}"
    print(f"Deleted job {job.short_id}; {kept}.")
    return 0


def _wait(ctx: Context, job_id: str, timeout: float | None) -> JobDetail:
    """Wait for the job; on a terminal, one line of progress on stderr, cleared at the end."""
    if not sys.stderr.isatty():
        return ctx.service.wait(job_id, timeout)
    try:
        return ctx.service.wait(job_id, timeout, progress=_show_progress)
    finally:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


def _show_progress(job: JobDetail) -> None:
    from exmado_tui.db import utcnow

    eta = pace.eta_s(job, utcnow())
    line = (
        f"{job.short_id} {job.status.value} {job.done_rows}/{job.total_rows} rows "
        f"({job.progress:.0%}): {job.found_rows} found, {job.not_found_rows} not found, "
        f"{job.failed_rows} failed" + (f", {duration(eta)} left" if eta else "")
    )
    width = shutil.get_terminal_size().columns - 1
    sys.stderr.write("\r\x1b[K" + line[:width])
    sys.stderr.flush()


def _delete_confirmed(job: JobDetail, with_files: bool) -> bool:
    if not sys.stdin.isatty():
        raise UsageError(
            f"Deleting job {job.short_id} needs a yes and there is no terminal to ask on; "
            "pass --yes."
        )
    files = f" and its output folder {job.output_dir}" if with_files else ""
    return confirmed(f"Delete job {job.short_id} ({job.name}, {job.status.value}){files}? [y/N] ")


def wait_command(args: argparse.Namespace, ctx: Context) -> int:
    job = _wait(ctx, args.id, args.timeout)
    print_state(job, args.json)
    return 0 if job.status is JobStatus.COMPLETED else 1


def report_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.queries import get_job
    from exmado_tui.report import write_report

    ctx.open_store()
    job = get_job(args.id)
    try:
        paths = write_report(job.id)
    except OSError as exc:
        raise PermanentError(
            f"The report of job {job.short_id} cannot be written into {job.output_dir}: "
            f"{exc.strerror or exc}."
        ) from None
    if args.json:
        print_json({"report": str(paths.report), "manifest": str(paths.manifest)})
    else:
        print(f"Job {job.short_id}: report {paths.report}, manifest {paths.manifest}")
    return 0


def terminate_command(args: argparse.Namespace, ctx: Context) -> int:
    print_state(ctx.service.terminate(args.id, args.reason), args.json)
    return 0
