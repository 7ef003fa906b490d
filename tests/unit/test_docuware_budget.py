"""The request budget (docuware/budget.py) without Redis: a job's throttling episodes, as its
event log tells them (its Redis side: integration/test_request_budget.py and
test_budget_learning.py)."""

from __future__ import annotations

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
