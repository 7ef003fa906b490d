"""The shared DocuWare request budget in the header strip and in `exmado workers`' words."""

from __future__ import annotations

import time

from exmado_tui.docuware.budget_store import BudgetStatus
from exmado_tui.queue import QueueDepth
from exmado_tui.ui.backend.health import RedisHealth
from exmado_tui.ui.widgets.health_strip import HealthStrip

CUT_AT = time.mktime((2026, 11, 29, 7, 5, 9, 0, 0, -1))


def test_the_header_shows_rate_ceiling_429s_and_the_last_cut():
    strip = HealthStrip()
    budget = BudgetStatus("https://acme.docuware.cloud as 'bot'", 17.46, 50, 3, CUT_AT)
    strip.redis = RedisHealth(True, QueueDepth(0, 0, 0), budgets=(budget,))
    assert "budget 17.5/50 req/s 429×3/5min cut 07:05" in strip.render().plain
    assert budget.describe() == "17.5 of 50 requests/s, 3 × 429 in 5 min, last cut 07:05:09"


def test_no_budget_yet_shows_nothing_of_it():
    strip = HealthStrip()
    strip.redis = RedisHealth(True, QueueDepth(0, 0, 0))
    assert "budget" not in strip.render().plain
    never = BudgetStatus("x", 12.5, 50, 0, None)
    assert never.describe() == "12.5 of 50 requests/s, 0 × 429 in 5 min"
    assert never.as_json()["last_cut"] is None
