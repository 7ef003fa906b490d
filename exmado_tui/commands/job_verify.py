"""`exmado jobs verify ID [--remote] [--sample 5%] [--json]`: a job's files checked against its
manifest, its rows accounted for, DocuWare asked on request; the result in its events.

Exit codes: 0 all match, 1 differences found, 2 usage (an id that names no job included),
3 could not verify (no manifest, the store or DocuWare out of reach).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from exmado_tui.commands.context import Context, UsageError, add_job_command, print_json
from exmado_tui.errors import ExmadoError, JobNotFoundError
from exmado_tui.formatting import visible
from exmado_tui.job.actor import Actor

if TYPE_CHECKING:  # the checks load the store (and httpx for --remote) when they run
    from exmado_tui.output.verify import FileCheck
    from exmado_tui.output.verify_remote import Sample

CANNOT_VERIFY = 3


def register(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
