"""The job state machine: every allowed edge moves, every other edge is refused."""

from __future__ import annotations

import itertools

import pytest

from exmado_tui.errors import TransitionError
from exmado_tui.job import transitions
from exmado_tui.job.status import FINAL, TRANSITIONS, Event, JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.store.models import Job, JobEvent
from tests.factories import insert_job

S = JobStatus
ALLOWED = {
    (S.PENDING, S.VALIDATING),
    (S.PENDING, S.CANCELLED),
    (S.PENDING, S.FAILED),
    (S.VALIDATING, S.RUNNING),
    (S.VALIDATING, S.FAILED),
    (S.VALIDATING, S.CANCELLED),
    (S.RUNNING, S.PAUSED),
    (S.RUNNING, S.COMPLETED),
    (S.RUNNING, S.COMPLETED_WITH_ERRORS),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.CANCELLED),
    (S.PAUSED, S.RUNNING),
    (S.PAUSED, S.CANCELLED),
    (S.PAUSED, S.FAILED),
    (S.FAILED, S.PENDING),
    (S.COMPLETED_WITH_ERRORS, S.PENDING),
    (S.CANCELLED, S.PENDING),
}
ALL_EDGES = list(itertools.product(S, S))


def make_job(status: JobStatus, job_id: str = "a" * 32) -> str:
    return insert_job(job_id, status.value)


def test_the_table_is_the_agreed_diagram():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
def test_allowed_edge_moves_the_job(store, source, target):
    job_id = make_job(source)
    transition(job_id, target, last_error="why")
    job = Job.get_by_id(job_id)
    assert job.status == target.value
    assert job.last_error == "why"
    assert (job.finished_at is not None) == (target in FINAL)


@pytest.mark.parametrize(("source", "target"), sorted(e for e in ALL_EDGES if e not in ALLOWED))
def test_forbidden_edge_is_refused_and_changes_nothing(store, source, target):
    job_id = make_job(source)
    assert target not in TRANSITIONS[source]
    with pytest.raises(TransitionError) as caught:
        transition(job_id, target, last_error="should not be written")
    assert f"is {source.value}" in str(caught.value)
    job = Job.get_by_id(job_id)
    assert job.status == source.value
    assert job.last_error == ""


def test_only_from_narrows_the_sources(store):
    job_id = make_job(S.RUNNING)
    with pytest.raises(TransitionError):
        transition(job_id, S.CANCELLED, only_from=frozenset({S.PENDING, S.PAUSED}))
    assert Job.get_by_id(job_id).status == S.RUNNING.value


def test_a_vanished_job_is_named(store):
    with pytest.raises(TransitionError, match="no longer exists"):
        transition("f" * 32, S.CANCELLED)


def events_of(job_id: str) -> list[tuple[str, str]]:
    rows = JobEvent.select().where(JobEvent.job == job_id).order_by(JobEvent.id)
    return [(e.level, e.message) for e in rows]


def test_a_move_writes_its_event_in_the_same_call(any_store):
    job_id = make_job(S.RUNNING)
    transition(job_id, S.FAILED, event=Event("Stopped \x1b[31mhere.", "error"))
    assert Job.get_by_id(job_id).status == S.FAILED.value
    assert events_of(job_id) == [("error", "Stopped \\x1b[31mhere.")]


def test_a_refused_move_writes_no_event(any_store):
    job_id = make_job(S.COMPLETED)
    with pytest.raises(TransitionError):
        transition(job_id, S.FAILED, event=Event("Should not be written.", "error"))
    with pytest.raises(TransitionError):
        transition(job_id, S.PENDING, only_from=frozenset({S.FAILED}), event=Event("Nor this."))
    assert Job.get_by_id(job_id).status == S.COMPLETED.value
    assert events_of(job_id) == []


def test_a_move_whose_event_cannot_be_written_does_not_happen(any_store, monkeypatch):
    job_id = make_job(S.RUNNING)

    def store_fails(*_: object) -> Event:
        raise OSError("the event cannot be written")

    monkeypatch.setattr(transitions, "store_event", store_fails)
    with pytest.raises(OSError, match="cannot be written"):
        transition(job_id, S.PAUSED, event=Event("Paused."))
    assert Job.get_by_id(job_id).status == S.RUNNING.value
    assert events_of(job_id) == []
