"""A query's documents read in ranges of ids from the sandbox over HTTP: each exactly once past
the server's per-search limit (lowered to 100 here instead of serving 25,000 documents), open
and closed ranges, typed values, DocuWare's count, and a read cut off and resumed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from exmado_tui.config.settings import DocuWareSettings, Secret, Settings
from exmado_tui.docuware.paging import read_range, resolve
from exmado_tui.docuware.query import parse_conditions
from exmado_tui.docuware.session import DocuWareSession
from exmado_tui.job.query_source import QuerySource
from exmado_tui.sandbox import FaultSettings, SandboxServer
from exmado_tui.store.models import Job, JobRow
from tests.factories import insert_job
from workers.pipeline.ingest import QueryReader, ingest_query

LIMIT = 100
DW = DocuWareSettings(
    url="http://unset", username="demo", password=Secret("demo"), auth="auto", timeout_s=10
)


@pytest.fixture
def limited(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    """700 invoices behind a search limit of 100 results a request."""
    return sandbox_factory(documents=700, seed=11, faults=FaultSettings(search_limit=LIMIT))


def day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date()


def invoices(server: SandboxServer, keep: Callable[[Any], bool]) -> set[int]:
    return {d.id for d in server.catalogue.documents("Invoices") if keep(d)}


def read_all(session: DocuWareSession, texts: list[str]) -> tuple[list[int], int, int]:
    """Every id the query's ranges give, the ranges read and DocuWare's count."""
    dialog = session.dialog("Invoices")
    resolved = session.run(resolve(session.client, "Invoices", dialog, parse_conditions(texts)))
    ids: list[int] = []
    ranges, page = 0, 1000
    while True:
        found, page = session.run(
            read_range(
                session.client,
                "Invoices",
                resolved,
                dialog=None,
                after=max(ids, default=0),
                page=page,
            )
        )
        if not found:
            break
        ids += [d.id for d in found]
        ranges += 1
    return ids, ranges, session.count("Invoices", resolved.query(0))


def test_a_query_past_the_limit_finds_each_document_once(limited: SandboxServer) -> None:
    with DocuWareSession(replace(DW, url=limited.url)) as session:
        ids, ranges, counted = read_all(session, ["AMOUNT=..40000"])
        with pytest.raises(Exception, match="limit of 100"):
            list(session.search("Invoices", None, page_size=LIMIT + 1, limit=LIMIT + 1))
    expected = invoices(limited, lambda d: d.value("AMOUNT") <= 40000)
    assert len(expected) > 4 * LIMIT  # the query is well past the limit
    assert len(ids) == len(set(ids)) == counted == len(expected)
    assert set(ids) == expected
    assert ranges >= len(expected) // LIMIT


def test_open_and_closed_date_ranges_and_id_bounds(limited: SandboxServer) -> None:
    with DocuWareSession(replace(DW, url=limited.url)) as session:
        since, _, since_count = read_all(session, ["DOC_DATE=2022-01-01.."])
        until, _, _ = read_all(session, ["DOC_DATE=..2021-12-31", "DWDOCID=150..420"])
        stored, _, _ = read_all(session, ["DWSTOREDATETIME=2021-03-01..2021-08-31"])
    assert set(since) == invoices(
        limited, lambda d: day(d.value("DOC_DATE")) >= dt.date(2022, 1, 1)
    )
    assert since_count == len(since) > 0
    assert set(until) == invoices(
        limited, lambda d: day(d.value("DOC_DATE")) <= dt.date(2021, 12, 31) and 150 <= d.id <= 420
    )
    assert set(stored) == invoices(
        limited, lambda d: dt.date(2021, 3, 1) <= day(d.created_ms) <= dt.date(2021, 8, 31)
    )
    assert until and stored


def test_a_read_cut_off_continues_after_the_last_id_stored(
    limited: SandboxServer, store: Settings
) -> None:
    job_id = insert_job("q" * 32, status="VALIDATING")
    source = QuerySource("Invoices", ("SUPPLIER=*e*", "AMOUNT=1000.50.."))
    calls: list[int] = []
    with DocuWareSession(replace(DW, url=limited.url)) as session:
        reader = QueryReader(session.client, source)

        def cut_after_two(after: int) -> list[int]:
            calls.append(after)
            if len(calls) == 3:
                raise KeyboardInterrupt  # the worker killed between two ranges
            return session.run(reader.ids_after(after))

        with pytest.raises(KeyboardInterrupt):
            ingest_query(Job.get_by_id(job_id), cut_after_two, lambda: None)
        first = JobRow.select().where(JobRow.job == job_id).count()
        got = ingest_query(
            Job.get_by_id(job_id), lambda a: session.run(reader.ids_after(a)), lambda: None
        )
    rows = list(JobRow.select().where(JobRow.job == job_id).order_by(JobRow.row_number))
    expected = invoices(
        limited, lambda d: "e" in d.value("SUPPLIER").lower() and d.value("AMOUNT") >= 1000.5
    )
    assert 0 < first < len(expected)
    assert [r.row_number for r in rows] == list(range(1, len(expected) + 1))
    assert sorted(int(r.key) for r in rows) == [int(r.key) for r in rows]
    assert {int(r.key) for r in rows} == expected and got.total == len(expected)


def test_the_default_dialog_carries_stored_and_modified_dates_spread_over_years(
    limited: SandboxServer,
) -> None:
    with DocuWareSession(replace(DW, url=limited.url)) as session:
        labels = {f.db_name: f.label for f in session.dialog("Invoices").fields}
        modified, _, _ = read_all(session, ["Modified on=2023-01-01..", "Stored on=..2022-12-31"])
    assert (labels["DWSTOREDATETIME"], labels["DWMODDATETIME"]) == ("Stored on", "Modified on")
    docs = limited.catalogue.documents("Invoices")
    assert len({day(d.created_ms).year for d in docs}) >= 5
    assert set(modified) == {
        d.id
        for d in docs
        if day(d.modified_ms) >= dt.date(2023, 1, 1) and day(d.created_ms) <= dt.date(2022, 12, 31)
    }
    assert modified  # changed in a later year than stored
