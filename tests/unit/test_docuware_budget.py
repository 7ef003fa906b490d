"""The request budget (docuware/budget.py) without Redis: a job's throttling episodes, as its
event log tells them (its Redis side: integration/test_request_budget.py and
test_budget_learning.py)."""

from __future__ import annotations

import time

from exmado_tui.docuware.errors import ThrottleWatch
from exmado_tui.job.status import Event


def test_an_episode_is_told_when_it_starts_and_when_the_run_ends():
    watch = ThrottleWatch()
    assert watch.sentences() == []
    watch.throttled(16.0)
    watch.throttled(13.6)  # the same episode: told once
    assert watch.sentences() == [
        Event("Slowed by DocuWare throttling; shared budget 16.0 requests/s.", "warning")
    ]
    assert watch.sentences() == []  # still going, not quiet yet
    [over] = watch.sentences(ended=True)
    assert over.level == "info"
    assert over.text.startswith("Throttling over: slowed for ")
    assert over.text.endswith("13.6 requests/s.")
    assert watch.sentences(ended=True) == []  # told once


def test_requests_held_then_answered_are_throttling():
    watch = ThrottleWatch()
    watch.held(16.0, sent=time.monotonic())
    assert watch.sentences() == []  # not yet: DocuWare may be down
    watch.answered()
    assert watch.sentences() == [
        Event("Slowed by DocuWare throttling; shared budget 16.0 requests/s.", "warning")
    ]


def test_requests_held_until_docuware_is_found_out_of_reach_are_not_throttling():
    """An outage holds every request unanswered, as throttling does; a request failing for no
    answer at all says which it was, and DocuWare answering again does not make it throttling,
    nor a request sent during the outage and held after it."""
    watch = ThrottleWatch()
    watch.held(16.0, sent=time.monotonic())
    watch.unreachable()
    sent_in_the_outage = time.monotonic()
    watch.held(8.0, sent=sent_in_the_outage)
    watch.answered()
    watch.held(8.0, sent=sent_in_the_outage)
    watch.answered()
    assert watch.sentences(ended=True) == []
