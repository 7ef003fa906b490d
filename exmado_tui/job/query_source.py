"""A job's rows from a DocuWare query instead of a workbook: what the job keeps of the query,
and with `--since-last-run` only what is new since the previous run of the same query.

A query job's configuration holds `query` (this, as a table) beside the profile's settings;
its rows are the documents the query found, one a row, the document id its key (column
`Document id`, searched as DWDOCID), read into the store by the worker in ranges of ids
(`exmado_tui/docuware/paging.py`). The job's workbook name carries the query's text, its
SHA-256 that of the query, so lists, reports and searches by text name it.

Only what is new (`since_last_run`): the previous run is the latest COMPLETED job whose query
has the same fingerprint (`QuerySource.fingerprint`: cabinet, dialog and conditions,
normalised); a run that ended with errors does not count, so what it failed is looked for
again. The new run asks for the documents whose DWMODDATETIME (set when a document is stored,
and at each change) is at or after that job's creation less `[jobs] since_overlap_s`: the job
was created before it read its hits, and the overlap covers a DocuWare clock behind ours. What
the overlap finds again is not exported twice (`exported_before`): a hit whose document id and
modified date a file of an earlier run of the query already has is skipped; one modified since
is exported again. Those two look in the store, imported when they run: the settings read a
profile's `[query]` through this module, and `exmado --help` loads it without peewee.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from exmado_tui.docuware.query import ID_FIELD, Wanted, parse_condition, parse_conditions
from exmado_tui.errors import ProfileError, QueryError
from exmado_tui.job.status import JobStatus

if TYPE_CHECKING:  # the session loads httpx
    from exmado_tui.config.settings import DocuWareSettings
    from exmado_tui.docuware.session import DocuWareSession

KEY = "query"
COLUMN = "Document id"  # the one column of a query job's rows: the document's id
COLUMNS = {COLUMN: ID_FIELD}
MODIFIED_FIELD = "DWMODDATETIME"  # DocuWare sets it when a document is stored, and at each change

Exported = dict[tuple[str, datetime], str]  # (document id, modified, naive UTC) -> job id


@dataclass(frozen=True)
class QuerySource:
    """The cabinet, dialog and conditions (as written) of a query job, and its first count.

    With `since_last_run` the job exports only what is new: documents modified (or stored,
    which sets the modified date too) from `since` on, the previous run's start less an
    overlap (`since_last_run`); `since` None is a first run, which exports every document."""

    cabinet: str
    conditions: tuple[str, ...]
    dialog: str = ""  # empty: the cabinet's default search dialog
    counted: int | None = None  # DocuWare's count when the job was created
    since_last_run: bool = False
    since: datetime | None = None  # aware UTC; None: every document
    previous: str = ""  # the job id of the previous run `since` comes from

    def wanted(self) -> list[Wanted]:
        """The conditions, and with `since` one on the modified date from then on."""
        wanted = parse_conditions(self.conditions)
        if self.since is not None:
            wanted.append(parse_condition(f"{MODIFIED_FIELD}={self.since.isoformat()}.."))
        return wanted

    @property
    def text(self) -> str:
        """`query Invoices: DOC_DATE=2023-01-01..2023-12-31 SUPPLIER=ACME*`, for people."""
        dialog = f" ({self.dialog})" if self.dialog else ""
        conditions = " ".join(self.conditions) or "every document"
        new = ""
        if self.since_last_run:
            new = f", modified since {self.since:%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
            new = new or ", all (no earlier run)"
        return f"query {self.cabinet}{dialog}: {conditions}{new}"[:255]

    @property
    def sha256(self) -> str:
        """Of the query (not of its count): the same query twice has the same digest."""
        what = {"cabinet": self.cabinet, "dialog": self.dialog, "conditions": self.conditions}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()

    @property
    def fingerprint(self) -> str:
        """The same query however written: cabinet and dialog in any case, conditions in any
        order, fields in any case, spaces around names and values ignored; not the count nor
        `since`. `--since-last-run` finds the previous run of a query by it."""
        conditions = sorted(_normalised(c) for c in self.conditions)
        what = [self.cabinet.strip().casefold(), self.dialog.strip().casefold(), conditions]
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """As a job's configuration keeps it (the since keys only for `--since-last-run`)."""
        kept: dict[str, Any] = {
            "cabinet": self.cabinet,
            "dialog": self.dialog,
            "conditions": list(self.conditions),
            "counted": self.counted,
        }
        if self.since_last_run:
            since = self.since.isoformat() if self.since else None
            kept.update(since_last_run=True, since=since, previous=self.previous)
        return kept

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> QuerySource:
        cabinet, dialog = data.get("cabinet"), data.get("dialog", "")
        conditions = data.get("conditions", [])
        counted = data.get("counted")
        if not isinstance(cabinet, str) or not cabinet.strip():
            raise ProfileError(f"{where}: [query] cabinet must name a cabinet.")
        if not isinstance(dialog, str):
            raise ProfileError(f"{where}: [query] dialog must be text, got {dialog!r}.")
        if not _texts(conditions):
            raise ProfileError(
                f'{where}: [query] conditions must be a list of "FIELD=VALUE" texts.'
            )
        if counted is not None and not isinstance(counted, int):
            counted = None
        source = cls(cabinet.strip(), tuple(conditions), dialog, counted, *_since_of(data, where))
        try:
            source.wanted()
        except ValueError as exc:
            raise ProfileError(f"{where}: {exc}") from None
        return source


def _since_of(data: Mapping[str, Any], where: str) -> tuple[bool, datetime | None, str]:
    """A job's stored `since_last_run`, `since` and `previous` (absent from a profile's)."""
    since = data.get("since")
    try:
        moment = datetime.fromisoformat(since) if isinstance(since, str) else None
    except ValueError:
        raise ProfileError(f"{where}: [query] since must be an ISO date-time.") from None
    return data.get("since_last_run") is True, moment, str(data.get("previous") or "")


def _normalised(condition: str) -> str:
    name, _, value = condition.partition("=")
    return f"{name.strip().upper()}={value.strip()}"


def count_query(session: DocuWareSession, source: QuerySource) -> int:
    """DocuWare's count of the query's documents; a field or value it cannot take is one
    sentence naming the field (ValueError)."""
    from exmado_tui.docuware.paging import resolve

    dialog = session.dialog(source.cabinet, source.dialog or None)
    resolved = session.run(resolve(session.client, source.cabinet, dialog, source.wanted()))
    return session.count(source.cabinet, resolved.query(0), dialog=dialog.id)


def counted(settings: DocuWareSettings, source: QuerySource) -> QuerySource:
    """`source` with DocuWare's count of its documents; a field or value DocuWare cannot take
    is one sentence naming it (QueryError)."""
    from exmado_tui.docuware.session import DocuWareSession

    try:
        source.wanted()
        with DocuWareSession(settings) as session:
            return replace(source, counted=count_query(session, source))
    except ValueError as exc:
        raise QueryError(str(exc)) from None


def query_of(config: Mapping[str, Any] | None, where: str) -> QuerySource | None:
    """The query a job's configuration holds, or None for a workbook job."""
    raw = (config or {}).get(KEY)
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{where}: [query] must be a table.")
    return QuerySource.from_dict(raw, where)


def _texts(items: Any) -> bool:
    return (
        isinstance(items, Sequence)
        and not isinstance(items, str)
        and all(isinstance(i, str) for i in items)
    )


def since_last_run(source: QuerySource, overlap_s: float) -> QuerySource:
    """`source` limited to what is new since its previous completed run (all of it when there
    is none); a query with a condition of its own on the modified date is refused."""
    if any(parse_condition(c).field.upper() == MODIFIED_FIELD for c in source.conditions):
        raise QueryError(
            f"--since-last-run adds its own condition on {MODIFIED_FIELD}; drop the query's "
            f"condition on {MODIFIED_FIELD}, or the option."
        )
    from exmado_tui.store.models import Job

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
    from exmado_tui.store.models import Job, JobFile

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
