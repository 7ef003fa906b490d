"""Only what is new: a query job limited to the documents modified since the previous
completed run of the same query, and the hits such a run exported before.

The previous run is the latest COMPLETED job whose query has the same fingerprint
(`QuerySource.fingerprint`: cabinet, dialog and conditions, normalised); a run that ended
with errors does not count, so what it failed is looked for again. The new run asks for the
documents whose DWMODDATETIME (set when a document is stored, and at each change) is at or
after that job's creation less `[jobs] since_overlap_s`: the job was created before it read
its hits, and the overlap covers a DocuWare clock behind ours. What the overlap finds again
is not exported twice: a hit whose document id and modified date a file of an earlier run of
the query already has is skipped; one modified since is exported again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

from exmado_tui.docuware.query import parse_condition
from exmado_tui.errors import QueryError
from exmado_tui.job.query_source import MODIFIED_FIELD, QuerySource
from exmado_tui.job.status import JobStatus
from exmado_tui.store.models import Job, JobFile

Exported = dict[tuple[str, datetime], str]  # (document id, modified, naive UTC) -> job id


def since_last_run(source: QuerySource, overlap_s: float) -> QuerySource:
    """`source` limited to what is new since its previous completed run (all of it when there
    is none); a query with a condition of its own on the modified date is refused."""
    if any(parse_condition(c).field.upper() == MODIFIED_FIELD for c in source.conditions):
        raise QueryError(
            f"--since-last-run adds its own condition on {MODIFIED_FIELD}; drop the query's "
            f"condition on {MODIFIED_FIELD}, or the option."
        )
    previous = (
        Job.select(Job.id, Job.created_at)
        .where((Job.query_fingerprint == source.fingerprint) & (Job.status == JobStatus.COMPLETED))
        .order_by(Job.created_at.desc())
        .first()
    )
    if previous is None:
        return replace(source, since_last_run=True, since=None, previous="")
    since = previous.created_at.replace(tzinfo=UTC, microsecond=0)
    return replace(
        source,
        since_last_run=True,
        since=since - timedelta(seconds=round(overlap_s)),
        previous=previous.id,
    )


def since_sentence(query: QuerySource, overlap_s: float) -> str:
    """What a new run of `query` exports, for the job's first events."""
    if query.since is None:
        return (
            "Since the last run: no earlier run of this query completed, so every "
            "document it finds is exported."
        )
    overlap = f"{overlap_s:g} s"
    return (
        f"Since the last run: documents modified from {query.since:%Y-%m-%d %H:%M:%S} UTC "
        f"on (job {query.previous[:8]}'s creation less {overlap} of overlap); one exported "
        "before with the same modified date is skipped."
    )


def exported_before(fingerprint: str, job_id: str, document_ids: Iterable[int]) -> Exported:
    """Which of these documents, at which modified date, another run of the query exported."""
    ids = [str(i) for i in document_ids]
    if not ids:
        return {}
    files = (
        JobFile.select(JobFile.document_id, JobFile.modified_at, Job.id)
        .join(Job)
        .where(
            (Job.query_fingerprint == fingerprint)
            & (Job.id != job_id)
            & JobFile.document_id.in_(ids)
            & JobFile.modified_at.is_null(False)
        )
    )
    found = cast("Iterable[tuple[str, datetime, str]]", files.tuples())
    return {(document, modified): job for document, modified, job in found}


def naive_utc(moment: datetime | None) -> datetime | None:
    """An aware date as the store keeps it (naive UTC), as the files' modified dates are."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None
