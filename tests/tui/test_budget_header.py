"""The shared DocuWare request budget in the header strip and in `exmado workers`' words."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

from exmado_tui.docuware.budget_store import BudgetStatus
from exmado_tui.services.queue import QueueDepth
from exmado_tui.ui.backend import DocuWareHealth, RedisHealth
from exmado_tui.ui.widgets.indicators import HealthStrip

CUT_AT = time.mktime((2026, 11, 29, 7, 5, 9, 0, 0, -1))


def test_the_header_shows_the_learned_rate_429s_and_the_last_cut():
    strip = HealthStrip()
    budget = BudgetStatus("https://acme.docuware.cloud as 'bot'", 17.46, 0, 3, CUT_AT, 20.6)
    strip.redis = RedisHealth(True, QueueDepth(0, 0, 0), budgets=(budget,))
    assert "budget 17.5 req/s 429×3/5min cut 07:05" in strip.render().plain
    assert budget.describe() == "17.5 requests/s, 3 × 429 in 5 min, last cut 07:05:09 at 20.6/s"
    assert budget.as_json()["cap_per_s"] is None and budget.as_json()["last_cut_at_per_s"] == 20.6


def test_an_administrators_cap_is_shown_beside_the_rate():
    strip = HealthStrip()
    capped = BudgetStatus("https://acme.docuware.cloud as 'bot'", 17.46, 50, 0, None)
    strip.redis = RedisHealth(True, QueueDepth(0, 0, 0), budgets=(capped,))
    assert "budget 17.5/50 req/s" in strip.render().plain
    assert capped.describe() == "17.5 requests/s (cap 50), 0 × 429 in 5 min, not throttled yet"


def test_no_budget_yet_shows_nothing_of_it():
    strip = HealthStrip()
    strip.redis = RedisHealth(True, QueueDepth(0, 0, 0))
    assert "budget" not in strip.render().plain
    never = BudgetStatus("x", 12.5, 0, 0, None)
    assert never.describe() == "12.5 requests/s, 0 × 429 in 5 min, not throttled yet"
    assert never.as_json()["last_cut"] is None


class StripApp(App[None]):
    def compose(self) -> ComposeResult:
        yield HealthStrip()


async def header_at(width: int, budget: BudgetStatus) -> str:
    """The header strip as a terminal `width` columns wide shows it, DocuWare 7.10.0.0 up."""
    async with StripApp().run_test(size=(width, 24)) as pilot:
        strip = pilot.app.query_one(HealthStrip)
        strip.redis = RedisHealth(True, QueueDepth(0, 0, 0), budgets=(budget,))
        strip.docuware = DocuWareHealth(True, "7.10.0.0")
        await pilot.pause()
        return pilot.app.screen._compositor.render_strips()[0].text


async def test_at_80_columns_a_cut_leaves_docuware_and_its_version_in_the_header():
    """The budget with its cut pushed "DocuWare ✔ 7.10.0.0" past the right edge; now the
    budget comes after it, said briefly when the strip is short of room."""
    budget = BudgetStatus("https://acme.docuware.cloud as 'bot'", 17.46, 50, 3, CUT_AT, 20.6)
    shown = await header_at(80, budget)
    assert "DocuWare ✔ 7.10.0.0  budget 17.5/50 req/s 429×3 cut 07:05" in shown, shown
    shown = await header_at(120, budget)
    assert shown.startswith(" Éxmado  Redis ✔  queue 0  DocuWare ✔ 7.10.0.0  budget"), shown
    assert "429×3/5min cut 07:05" in shown, shown
