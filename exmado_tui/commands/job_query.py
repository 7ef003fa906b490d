"""`exmado jobs create --query CABINET FIELD=VALUE …`: a job from what a DocuWare query finds.

The conditions are checked against the dialog's fields and their types and the documents are
counted (DocuWare's `CountExpression`) before anything is stored; a query that finds nothing
is refused. The worker then reads the documents in ranges of ids (`docuware/id_ranges.py`).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING

from exmado_tui.commands.context import Context
from exmado_tui.errors import QueryError
from exmado_tui.job.query_source import QuerySource, counted
from exmado_tui.job.request import JobRequest

if TYPE_CHECKING:  # the store's queries load peewee
    from exmado_tui.store.queries import JobDetail


def counted_source(ctx: Context, args: argparse.Namespace) -> QuerySource:
    """The query of `--query CABINET COND…` with its count; refused in one sentence."""
    source = asked_query(ctx, args)
    if args.since_last_run:
        from exmado_tui.job.since import since_last_run

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
