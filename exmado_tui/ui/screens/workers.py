"""`WorkersScreen`: who is working on what, the queue, Redis itself and DocuWare.

The figures are `exmado workers`'s own (`worker_facts`): workers alive from their registry
entries in Redis, the jobs they hold or will continue from the store (each running job records
its worker and heartbeat), the queue and the request budgets.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, Static

from exmado_tui.commands.doctor import Check
from exmado_tui.errors import StoreUnavailableError
from exmado_tui.formatting import duration, visible
from exmado_tui.job.liveness import Clocks
from exmado_tui.job.status import ACTIVE
from exmado_tui.notify.delivery import TargetHealth, overview
from exmado_tui.services.worker_facts import JobFacts, QueueFacts, read_job_facts
from exmado_tui.ui.app import HidesMutatingKeys, exmado_app, mutating, on_view
from exmado_tui.ui.backend import DocuWareHealth, check_redis, redis_info
from exmado_tui.ui.keys import KeyFooter
from exmado_tui.ui.modals import ConfirmModal
from exmado_tui.ui.widgets.indicators import HealthStrip, StoreTrouble, status_text
from exmado_tui.ui.widgets.tables import PlainTable

REFRESH_S = 2.0


def read_facts(queue: Any) -> tuple[Any, dict[str, Any] | str]:
    """What Redis says (`worker_facts`) and its INFO, or why Redis cannot be asked."""
    health = check_redis(queue)
    if not health.reachable:
        return health, health.error
    try:
        return health, redis_info(queue)
    except Exception as exc:
        return health, str(exc)


def check_text(check: Check) -> Text:
    """A sign-in check as `exmado doctor` prints it: ✔ or ✖, the detail, the fix."""
    if check.ok:
        return Text(f"✔ {check.detail}", "green")
    text = Text(f"✖ {check.detail}", "red")
    if check.fix:
        text.append(f"\n  fix: {check.fix}")
    return text


class WorkersScreen(HidesMutatingKeys, Screen[None]):
    """`P` purges the queue (after a confirmation); `k` signs in to DocuWare to check it."""

    BINDINGS = [
        Binding("escape,backspace", "back", "Back"),
        Binding("k", "check_docuware", "Check DocuWare"),
        Binding("P", "purge", "Purge queue"),
    ]

    redis_health: Any = None
    _signing_in = False
    redis_info: dict[str, Any] | str = ""

    @property
    def workers_table(self) -> PlainTable:
        return self.query_one("#workers", PlainTable)

    @property
    def alive_table(self) -> PlainTable:
        return self.query_one("#alive", PlainTable)

    @property
    def redis_facts(self) -> Static:
        return self.query_one("#redis-facts", Static)

    @property
    def docuware_facts(self) -> Static:
        return self.query_one("#docuware-facts", Static)

    def compose(self) -> ComposeResult:
        yield HealthStrip()
        yield Static("Workers", classes="screen-title")
        yield StoreTrouble()
        with VerticalScroll():
            yield Label("Workers alive", classes="section")
            yield PlainTable(id="alive", cursor_type="row")
            yield Label("Jobs in hand", classes="section")
            yield PlainTable(id="workers", cursor_type="row")
            yield Label("Redis", classes="section")
            yield Static(id="redis-facts")
            yield Label("DocuWare", classes="section")
            yield Static(id="docuware-facts")
            yield Static(id="docuware-check")
            yield Label("Notifications", classes="section")
            yield Static(id="notify-facts")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.alive_table.add_columns("Host", "PID", "Up", "Seen", "Threads", "Jobs")
        self.workers_table.add_columns("Worker", "Job", "Name", "Status", "Heartbeat", "Rows")
        self.watch(self.app, "docuware_health", self._show_docuware)
        self.set_interval(REFRESH_S, self.reload)
        self.reload()

    def reload(self) -> None:
        if on_view(self):
            self.run_worker(self._load(), group="workers", exclusive=True)

    async def _load(self) -> None:
        app = exmado_app(self)
        backend = app.backend
        try:
            facts = await backend.read(read_job_facts)
            notify = await backend.read(overview, app.settings.notify, app.clock())
        except StoreUnavailableError as exc:  # locked, or the server restarting: next tick
            if on_view(self):
                self.query_one(StoreTrouble).show(exc)
            return
        health, info = await backend.probe(read_facts, backend.service.queue)
        if not on_view(self):  # left (or covered) while reading: its widgets may be gone
            return
        self.query_one(StoreTrouble).show(None)
        self._show_workers(facts)
        self._show_notify(*notify)
        if health.facts is not None:
            self._show_alive(health.facts)
        self._show_redis(health, info, facts)

    def _show_alive(self, facts: QueueFacts) -> None:
        table = self.alive_table
        table.clear()
        for worker in facts.workers:
            since = worker.get("since", "").rstrip("Z")
            up = (facts.read_at - datetime.fromisoformat(since)).total_seconds() if since else None
            table.add_row(
                visible(worker.get("host", "")),
                str(worker.get("pid", "")),
                duration(up),
                f"{duration(facts.heartbeat_age_s(worker))} ago" if worker.get("seen") else "-",
                str(worker.get("threads", "")),
                ", ".join(j[:8] for j in worker.get("jobs", [])) or "-",
                key=worker.get("id"),
            )

    def _show_workers(self, facts: JobFacts) -> None:
        app = exmado_app(self)
        takeover_after_s = Clocks.of(app.settings.jobs).takeover_after_s
        table = self.workers_table
        table.clear()
        for job in sorted(facts.jobs, key=lambda j: (j.worker or "~", j.id)):
            age = facts.heartbeat_age_s(job)
            stale = age is not None and age > takeover_after_s
            beat = Text(f"{duration(age)} ago" if age is not None else "-", "red" if stale else "")
            waiting = "(waiting for a worker)" if job.status in ACTIVE else "-"
            table.add_row(
                visible(job.worker) if job.worker else Text(waiting, "dim"),
                job.short_id,
                visible(job.name),
                status_text(job.status, job.control),
                beat,
                f"{job.done_rows}/{job.total_rows}",
                key=job.id,
            )

    def _show_notify(self, targets: list[TargetHealth], unsent: int) -> None:
        """Each [[notify]] target as `exmado doctor` says it, and notices nobody delivers."""
        if not targets:
            text = Text("none configured ([[notify]] in the host file)", "dim")
        else:
            text = Text("\n").join(
                Text(f"{'✔' if t.ok else '✖'} {t.sentence}", "green" if t.ok else "red")
                for t in targets
            )
        if unsent:
            text.append(f"\n✖ {unsent} notices wait for a deliverer: `exmado up`", "red")
        self.query_one("#notify-facts", Static).update(text)

    def _show_redis(self, health: Any, info: dict[str, Any] | str, jobs: JobFacts) -> None:
        self.redis_health, self.redis_info = health, info
        if isinstance(info, str):
            self.redis_facts.update(Text(info, style="red"))
            return
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        depth = health.depth
        queue = f"{depth.ready} ready, {depth.delayed} delayed, {depth.dead} dead"
        if jobs.oldest_waiting_s:
            queue += f"; oldest waiting {duration(jobs.oldest_waiting_s)}"
        grid.add_row("queue", queue)
        for budget in health.budgets:
            grid.add_row("DocuWare budget", Text(f"{budget.account}: {budget.describe()}"))
        for key, value in info.items():
            grid.add_row(Text(key), Text(str(value)))
        self.redis_facts.update(grid)

    def _show_docuware(self, health: DocuWareHealth) -> None:
        url = exmado_app(self).settings.docuware.url
        if health.reachable is None:
            text = Text(f"{url}: not checked yet", "dim")
        elif health.reachable:
            text = Text(f"{url}: reachable, platform {health.version or '?'}", "green")
        else:
            text = Text(f"{url}: unreachable — {health.error}", "red")
        self.docuware_facts.update(text)

    def action_check_docuware(self) -> None:
        if not self._signing_in:
            self.run_worker(self._check_docuware(), group="dw-check")

    async def _check_docuware(self) -> None:
        """Sign in as `exmado doctor` does; an answer, or a sentence once the bound passes."""
        probe = exmado_app(self).probe
        check_line = self.query_one("#docuware-check", Static)
        check_line.update(Text(f"signing in… (at most {probe.sign_in_bound_s:g} s)", "dim"))
        self._signing_in = True
        try:
            checked = await asyncio.wait_for(
                exmado_app(self).backend.probe(probe.sign_in), probe.sign_in_bound_s
            )
        except TimeoutError:
            checked = probe.too_slow()
        finally:
            self._signing_in = False
        check_line.update(check_text(checked))

    @mutating
    def action_purge(self) -> None:
        self.run_worker(self._purge(), group="purge")

    async def _purge(self) -> None:
        question = (
            "Purge the job queue? Queued messages are dropped; the jobs stay in the store "
            "and can be started again."
        )
        if not await self.app.push_screen_wait(ConfirmModal(question, yes="Purge")):
            return
        try:
            backend = exmado_app(self).backend
            await backend.act(backend.service.queue.purge)
        except Exception as exc:
            self.app.notify(f"Purge failed: {exc}", severity="error")
            return
        self.app.notify("Queue purged.")
        self.reload()

    def action_back(self) -> None:
        self.dismiss(None)
