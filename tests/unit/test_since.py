"""`--since-last-run` without DocuWare: which run is the previous one, the moment asked for,
the same query however written, and what an earlier run exported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from exmado_tui.errors import QueryError
from exmado_tui.job.query_source import QuerySource, exported_before, since_last_run
from exmado_tui.store.models import JobFile
from tests.factories import insert_job

QUERY = QuerySource("Invoices", ("SUPPLIER=ACME*", "DOC_DATE=2024-01-01.."))
AT = datetime(2026, 3, 1, 2, 0, 7)


def test_the_same_query_however_written_has_one_fingerprint():
    again = QuerySource(" invoices", ("doc_date = 2024-01-01..", "supplier=ACME* "), "", 7)
    assert again.fingerprint == QUERY.fingerprint
    assert QuerySource("Invoices", ("SUPPLIER=acme*",)).fingerprint != QUERY.fingerprint
    assert QuerySource("Invoices", QUERY.conditions, "Other").fingerprint != QUERY.fingerprint


def test_a_first_run_asks_for_every_document(store):
    insert_job("a" * 32, "COMPLETED", query_fingerprint="other", created_at=AT)
    first = since_last_run(QUERY, 300)
    assert (first.since_last_run, first.since, first.previous) == (True, None, "")
    assert [w.text for w in first.wanted()] == list(QUERY.conditions)


def test_the_previous_completed_run_less_the_overlap_is_asked_for(store):
    fingerprint = QUERY.fingerprint
    insert_job("a" * 32, "COMPLETED", query_fingerprint=fingerprint, created_at=AT)
    later = AT + timedelta(days=1)
    insert_job("b" * 32, "COMPLETED_WITH_ERRORS", query_fingerprint=fingerprint, created_at=later)
    insert_job("c" * 32, "FAILED", query_fingerprint=fingerprint, created_at=later)
    made = since_last_run(QUERY, 300)
    assert made.previous == "a" * 32
    assert made.since == datetime(2026, 3, 1, 1, 55, 7, tzinfo=UTC)
    assert made.wanted()[-1].text == "DWMODDATETIME=2026-03-01T01:55:07+00:00.."
    assert "modified since 2026-03-01 01:55:07 UTC" in made.text
    assert QuerySource.from_dict(made.to_dict(), "job") == made


def test_a_query_with_its_own_modified_date_condition_is_refused(store):
    with pytest.raises(QueryError, match="drop the query's condition on DWMODDATETIME"):
        since_last_run(QuerySource("Invoices", ("dwmoddatetime=2024-01-01..",)), 300)


def test_what_an_earlier_run_of_the_query_exported_is_known_by_id_and_modified_date(store):
    earlier, other, this = "a" * 32, "b" * 32, "c" * 32
    insert_job(earlier, "COMPLETED", query_fingerprint=QUERY.fingerprint)
    insert_job(other, "COMPLETED", query_fingerprint="another query")
    insert_job(this, "RUNNING", query_fingerprint=QUERY.fingerprint)
    for job, doc in ((earlier, "1"), (earlier, "2"), (other, "3"), (this, "4")):
        JobFile.create(job=job, document_id=doc, path=f"{job}/{doc}.pdf", modified_at=AT)
    assert exported_before(QUERY.fingerprint, this, [1, 3, 4, 5]) == {("1", AT): earlier}
    assert exported_before(QUERY.fingerprint, this, []) == {}
