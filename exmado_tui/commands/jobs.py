"""`exmado jobs …`: list, show, create and control jobs from scripts and shells; rebuild a job's
report and manifest, and verify a job against them.

`exmado jobs verify ID [--remote] [--sample 5%] [--json]`: a job's files checked against its
manifest, its rows accounted for, DocuWare asked on request; the result in its events. Exit
codes: 0 all match, 1 differences found, 2 usage (an id that names no job included), 3 could
not verify (no manifest, the store or DocuWare out of reach).

Creating a job is job_create.py; a job shown, and its events, rows and files, job_views.py.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from exmado_tui.commands import job_create, job_views
from exmado_tui.commands.context import (
    Context,
    UsageError,
    add_job_command,
    confirmed,
    job_status,
    print_json,
    seconds,
    since_time,
    whole_number,
)
from exmado_tui.commands.job_views import print_job, print_state, wait_for_end
from exmado_tui.config.settings import zone_abbreviation
from exmado_tui.errors import ExmadoError, JobNotFoundError, PermanentError
from exmado_tui.formatting import local_time, visible
from exmado_tui.job.actor import Actor
from exmado_tui.job.status import JobStatus

if TYPE_CHECKING:  # the store's queries load peewee, the checks httpx: imported when they run
    from exmado_tui.output.verify import FileCheck
    from exmado_tui.output.verify_remote import Sample
    from exmado_tui.store.queries import JobDetail

ACTIONS = ("start", "pause", "resume", "cancel", "retry")
CANNOT_VERIFY = 3  # `jobs verify`: no manifest, or the store or DocuWare out of reach


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = subparsers.add_parser("jobs", help="list, create and control jobs")
    actions = jobs.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="list jobs, newest first")
    listing.add_argument(
        "text", nargs="?", help="only jobs whose name, user, workbook or id contains TEXT"
    )
    listing.add_argument(
        "--since",
        type=since_time,
        metavar="WHEN",
        help="only jobs created since WHEN: 2026-11-28, '2026-11-28 14:00', or 90m, 12h, 7d ago",
    )
    listing.add_argument("--status", action="append", type=job_status, help="only this status")
    listing.add_argument("--limit", type=whole_number, default=None, help="at most N jobs")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)

    add_job_command(actions, "show", "one job in full", show_command)

    job_create.register(actions)

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
    wait.add_argument("--timeout", type=seconds, default=None, help="give up after S seconds")

    _register_operator_actions(actions)
    job_views.register(actions)
    _register_verify(actions)


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


def list_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.store.queries import list_jobs

    ctx.open_store()
    since = args.since(ctx.settings.zone) if args.since else None
    jobs = list_jobs(statuses=args.status, text=args.text, since=since, limit=args.limit)
    if args.json:
        print_json([job.to_json() for job in jobs])
        return 0
    header = (
        f"{'ID':8}  {'STATUS':22} {'PROGRESS':>8} {'ROWS':>11} {'FOUND':>6} {'MISS':>5} "
        f"{'FAIL':>5}  {'CREATED ' + zone_abbreviation(ctx.settings.zone):16}  {'USER':10} NAME"
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
    from exmado_tui.store.queries import get_job

    ctx.open_store()
    print_job(get_job(args.id), args.json, ctx)
    return 0


def action_command(args: argparse.Namespace, ctx: Context) -> int:
    job = getattr(ctx.service, args.action)(args.id)
    if args.action == "start" and not args.json:
        # Not its wait reason: "waiting for a worker" until one takes it, a moment later.
        print(f"Job {job.short_id} queued for the workers.")
    else:
        print_state(job, args.json)
    return 0


def fail_command(args: argparse.Namespace, ctx: Context) -> int:
    print_state(ctx.service.fail(args.id, args.reason), args.json)
    return 0


def delete_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.store.queries import get_job

    service = ctx.service  # opens the store
    job = get_job(args.id)
    if not args.yes and not _delete_confirmed(job, args.delete_files):
        print("Nothing deleted.")
        return 1
    service.delete(job.id, keep_files=not args.delete_files)
    kept = "deleted its files too" if args.delete_files else f"files kept in {job.output_dir}"
    print(f"Deleted job {job.short_id}; {kept}.")
    return 0


def _delete_confirmed(job: JobDetail, with_files: bool) -> bool:
    if not sys.stdin.isatty():
        raise UsageError(
            f"Deleting job {job.short_id} needs a yes and there is no terminal to ask on; "
            "pass --yes."
        )
    files = f" and its output folder {job.output_dir}" if with_files else ""
    return confirmed(f"Delete job {job.short_id} ({job.name}, {job.status.value}){files}? [y/N] ")


def wait_command(args: argparse.Namespace, ctx: Context) -> int:
    job = wait_for_end(ctx, args.id, args.timeout)
    print_state(job, args.json)
    return 0 if job.status is JobStatus.COMPLETED else 1


def report_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.output.report import write_report
    from exmado_tui.store.queries import get_job

    ctx.open_store()
    job = get_job(args.id)
    try:
        paths = write_report(job.id, ctx.settings.zone)
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


# -- verify ---------------------------------------------------------------------------------


def _register_verify(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = add_job_command(
        actions,
        "verify",
        "check a job's files against its manifest: = same, * changed, - missing, + extra, "
        "! unreadable (exit 0 all match, 1 differences, 3 could not verify)",
        verify_command,
    )
    verify.add_argument(
        "--remote",
        action="store_true",
        help="also ask DocuWare whether an exported document was modified or deleted since",
    )
    verify.add_argument(
        "--sample",
        type=sample_share,
        metavar="SHARE",
        help="download SHARE of the documents again (5%% or a number) and compare their "
        "SHA-256; asks DocuWare as --remote does",
    )


def sample_share(text: str) -> Sample:
    from exmado_tui.output.verify_remote import Sample

    number = text.strip().removesuffix("%")
    try:
        value = float(number)
    except ValueError:
        value = -1
    if text.strip().endswith("%") and 0 < value <= 100:
        return Sample(percent=value)
    if number.isdigit() and int(number) > 0:
        return Sample(count=int(number))
    raise argparse.ArgumentTypeError(
        f"must be a share such as 5% or a number such as 20, got {text!r}"
    )


def verify_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.store.queries import get_job

    try:
        ctx.open_store()
        job_id = get_job(args.id).id
    except JobNotFoundError as exc:
        raise UsageError(str(exc)) from None
    except ExmadoError as exc:
        return _cannot(None, str(exc), args, ctx)
    return _verify(job_id, args, ctx)


def _verify(job_id: str, args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.docuware.errors import DocuWareError
    from exmado_tui.output.verify import record_verification, verify_job

    show = (lambda check: None) if args.json else _print_line
    try:
        done = verify_job(
            job_id, ctx.settings, show, remote=args.remote or bool(args.sample), sample=args.sample
        )
    except (ExmadoError, DocuWareError) as exc:
        return _cannot(job_id, str(exc), args, ctx)
    record_verification(job_id, done, _actor(ctx))
    if args.json:
        print_json(done.to_json())
    else:
        for part in done.parts():
            print(part)
        print(f"Job {job_id[:8]}: {'all match' if not done.verdict else 'differences found'}.")
    return int(done.verdict)


def _print_line(check: FileCheck) -> None:
    reason = f"  ({check.reason})" if check.reason else ""
    print(f"{check.mark.value} {visible(check.path)}{reason}", flush=True)


def _cannot(job_id: str | None, reason: str, args: argparse.Namespace, ctx: Context) -> int:
    """Say why nothing could be verified (and keep it in the job's events): exit 3."""
    if job_id is not None:
        from exmado_tui.output.verify import record_unverified

        record_unverified(job_id, reason, _actor(ctx))
    if args.json:
        print_json(
            {
                "job": job_id,
                "result": "could_not_verify",
                "exit_code": CANNOT_VERIFY,
                "reason": reason,
            }
        )
    print(f"exmado: could not verify: {reason}", file=sys.stderr)
    return CANNOT_VERIFY


def _actor(ctx: Context) -> Actor:
    return Actor.here(ctx.door, ctx.settings.host)
