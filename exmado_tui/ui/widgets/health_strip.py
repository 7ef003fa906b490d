"""The header strip: Redis, queue depth, workers and DocuWare at a glance."""

from __future__ import annotations

import time

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from exmado_tui.ui.backend.health import DocuWareHealth, RedisHealth


class HealthStrip(Static):
    """One line of health facts; set `redis` and `docuware`, it redraws itself."""

    DEFAULT_CSS = """
    HealthStrip { height: 1; width: 1fr; background: $boost; padding: 0 1; }
    """

    redis: reactive[RedisHealth | None] = reactive(None)
    """Latest Redis ping and queue depth (None until the first check)."""
    docuware: reactive[DocuWareHealth] = reactive(DocuWareHealth(None))
    """Latest DocuWare check."""
    readonly: reactive[bool] = reactive(False)
    """Show the read-only badge."""

    def on_mount(self) -> None:
        """Follow the app's health facts (`redis_health`, `docuware_health`)."""
        self.readonly = bool(getattr(self.app, "readonly", False))
        if hasattr(self.app, "redis_health"):
            self.watch(self.app, "redis_health", self._set_redis)
            self.watch(self.app, "docuware_health", self._set_docuware)

    def _set_redis(self, health: RedisHealth | None) -> None:
        self.redis = health

    def _set_docuware(self, health: DocuWareHealth) -> None:
        self.docuware = health

    def render(self) -> Text:
        text = Text("Éxmado", style="bold")
        text.append("  ")
        if self.readonly:
            text.append(" READ-ONLY ", style="bold reverse yellow")
            text.append("  ")
        text.append_text(self._redis_text())
        text.append("  ")
        text.append_text(self._docuware_text())
        return text

    def _redis_text(self) -> Text:
        health = self.redis
        if health is None:
            return Text("Redis …", style="bright_black")
        if not health.reachable:
            return Text("Redis ✖ down", style="bold red")
        depth = health.depth
        text = Text("Redis ✔", style="green")
        if depth is not None:
            text.append(f"  queue {depth.ready}", style="")
            if depth.delayed:
                text.append(f" +{depth.delayed} delayed")
            if depth.dead:
                text.append(f"  dead {depth.dead}", style="red")
        for budget in health.budgets[:1]:  # the most throttled one
            style = "yellow" if budget.throttled_5min else ""
            cap = f"/{budget.cap:g}" if budget.cap else ""
            text.append(f"  budget {budget.rate:.1f}{cap} req/s", style=style)
            text.append(f" 429×{budget.throttled_5min}/5min", style=style)
            if budget.last_cut is not None:
                text.append(" cut " + time.strftime("%H:%M", time.localtime(budget.last_cut)))
        return text

    def _docuware_text(self) -> Text:
        health = self.docuware
        if health.reachable is None:
            return Text("DocuWare …", style="bright_black")
        if not health.reachable:
            return Text("DocuWare ✖ unreachable", style="bold red")
        return Text(f"DocuWare ✔ {health.version}".rstrip(), style="green")
