"""`ExmadoApp` and `make_app`, the factory the CLI, `exmado serve` and the tests share; the
app typed for its screens, modals and widgets (`exmado_app`); the read-only rule; and the job
actions a screen mixes in.

Textual types `node.app` as `App[Any]`, so `self.app.backend` would check nothing; every part
of the dashboard reaches the app through `exmado_app(self)` instead.

The read-only rule, in one place: a dashboard started with --readonly (`exmado serve
--readonly`) runs no action marked `@mutating`, and shows no key for one. Two public Textual
hooks apply it. `check_action` hides: Textual asks it of the node that binds a key, so a
screen with mutating actions mixes in `HidesMutatingKeys`, and their keys leave the footer and
the command palette. `App.run_action` refuses: every key, button and palette command goes
through it, so `ExmadoApp` asks `refused` first, and a mutating action is answered with a
notice instead of being run.

The job actions, asked and performed: `JobActionsMixin` gives any screen that can say which
jobs the user means every job action (start … terminate, delete), asks which of them apply and
confirms where the action cannot be undone; `ExmadoApp.perform` runs it on the actor thread,
says how it went and tells the screen (`JobActionSucceeded`). `VerifyActionMixin`: `v` on a
job's screen checks its output folder against its manifest (`exmado jobs verify`, DocuWare not
asked) on a thread of its own; the result is a notice and a line in the job's events naming
who ran it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from textual.actions import ActionParseResult, parse
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen

from exmado_tui.config.settings import Settings
from exmado_tui.errors import StoreUnavailableError
from exmado_tui.formatting import counted, visible
from exmado_tui.job.actor import Actor, Door
from exmado_tui.job.service import JobService
from exmado_tui.job.status import FINAL, JobStatus
from exmado_tui.output.verify import Verdict
from exmado_tui.store.queries import JobSummary, finished_since, latest_finished_at
from exmado_tui.ui.backend import (
    Backend,
    Clock,
    DocuWareHealth,
    DocuWareProbe,
    RedisHealth,
    check_redis,
)
from exmado_tui.ui.keys import ActionCommands, HelpScreen
from exmado_tui.ui.logic.jobs import ACTIONS
from exmado_tui.ui.messages import JobActionFailed, JobActionSucceeded, JobFinished
from exmado_tui.ui.modals import ConfirmModal, DeleteJobModal, FailJobModal

log = logging.getLogger("exmado.ui")
HEALTH_EVERY_S = 2.0
FINISHED_EVERY_S = 1.0
F = TypeVar("F", bound=Callable[..., Any])
READONLY_NOTICE = "Read-only dashboard: {what} is disabled (started with --readonly)."


class ExmadoApp(App[None]):
    """The dashboard. Screens read through `backend.read` and act through `perform`."""

    CSS_PATH = "app.tcss"
    TITLE = "Éxmado"
    COMMANDS = App.COMMANDS | {ActionCommands}
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("w", "workers", "Workers", show=False),
        Binding("f", "dropfolder", "Drop folder", show=False),
    ]

    redis_health: reactive[RedisHealth | None] = reactive(None)
    """Latest Redis ping and queue depth."""
    docuware_health: reactive[DocuWareHealth] = reactive(DocuWareHealth(None))
    """Latest DocuWare check (cached ~30 s by the probe)."""

    def __init__(self, backend: Backend, *, readonly: bool, probe: DocuWareProbe) -> None:
        super().__init__()
        self.backend = backend
        self.readonly = readonly
        self.probe = probe
        self._finished_mark: datetime | None = None
        self._watching_finished = False
        self._checking_health = False

    @property
    def settings(self) -> Settings:
        return self.backend.settings

    @property
    def clock(self) -> Clock:
        return self.backend.clock

    def on_mount(self) -> None:
        from exmado_tui.ui.screens.jobs import JobsScreen

        self.push_screen(JobsScreen())
        self.set_interval(HEALTH_EVERY_S, self.check_health)
        self.set_interval(FINISHED_EVERY_S, self.watch_finished)
        self.check_health()
        self.watch_finished()

    def on_unmount(self) -> None:
        self.backend.close()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A notice shown as written: it names jobs, files and errors, where "[" is text and a
        control character (ESC from a key) is shown as `\\x1b`; its lines stay."""
        message, title = visible(message, keep="\n"), visible(title)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Every key, button and palette command passes here: the read-only rule's refusal."""
        if refused(default_namespace or self, action):
            return True
        return await super().run_action(action, default_namespace, namespaces)

    # -- background checks ----------------------------------------------------------------

    def check_health(self) -> None:
        if not self._checking_health:
            self._checking_health = True
            self.run_worker(self._check_health(), group="health")

    async def _check_health(self) -> None:
        try:
            self.redis_health = await self.backend.probe(check_redis, self.backend.service.queue)
            self.docuware_health = await self.backend.probe(self.probe.check)
        finally:
            self._checking_health = False

    def watch_finished(self) -> None:
        if not self._watching_finished:
            self._watching_finished = True
            self.run_worker(self._watch_finished(), group="finished")

    async def _watch_finished(self) -> None:
        """Notify once for each job that reached a final state since the last look."""
        try:
            if self._finished_mark is None:
                self._finished_mark = await self.backend.read(latest_finished_at) or datetime.min
                return
            for job in await self.backend.read(finished_since, self._finished_mark):
                self._finished_mark = max(self._finished_mark, job.finished_at or datetime.min)
                self.announce_finished(job)
        except StoreUnavailableError as exc:  # the screens say so; look again next tick
            log.warning("finished jobs not read: %s", exc)
        finally:
            self._watching_finished = False

    def announce_finished(self, job: JobSummary) -> None:
        severity = {
            JobStatus.COMPLETED: "information",
            JobStatus.COMPLETED_WITH_ERRORS: "warning",
            JobStatus.CANCELLED: "warning",
        }.get(job.status, "error")
        detail = f": {job.last_error}" if job.last_error and job.status is JobStatus.FAILED else ""
        self.notify(
            f"Job {job.short_id} ({job.name}) {job.status.value.lower().replace('_', ' ')}"
            f" — {job.found_rows} found, {job.not_found_rows} not found, "
            f"{job.failed_rows} failed{detail}",
            title="Job finished" if job.status is not JobStatus.FAILED else "Job failed",
            severity=severity,  # type: ignore[arg-type]
            timeout=8,
        )
        self.screen.post_message(JobFinished(job))

    # -- acting ------------------------------------------------------------------------------

    async def perform(self, name: str, job_ids: list[str], **options: Any) -> list[str]:
        """Run a JobService action on each job (on the actor thread); notify the outcome and
        return the ids it succeeded for."""
        method = getattr(self.backend.service, name)
        done: list[str] = []
        errors: list[str] = []
        for job_id in job_ids:
            try:
                await self.backend.act(method, job_id, **options)
                done.append(job_id)
            except Exception as exc:
                log.info("%s %s refused: %s", name, job_id[:8], exc)
                errors.append(str(exc))
                self.screen.post_message(JobActionFailed(name, job_id, str(exc)))
        self._report(name, done, errors)
        if done:
            self.screen.post_message(JobActionSucceeded(name, done))
        return done

    def _report(self, name: str, done: list[str], errors: list[str]) -> None:
        if done:
            self.notify(f"{counted(len(done), 'job').capitalize()} {ACTIONS[name].past}.")
        if errors:
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            self.notify(errors[0] + more, title=f"{ACTIONS[name].label} refused", severity="error")

    # -- navigation ----------------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_workers(self) -> None:
        from exmado_tui.ui.screens.workers import WorkersScreen

        if not isinstance(self.screen, WorkersScreen):
            self.push_screen(WorkersScreen())

    def action_dropfolder(self) -> None:
        from exmado_tui.ui.screens.dropfolder import DropFolderScreen

        if not isinstance(self.screen, DropFolderScreen):
            self.push_screen(DropFolderScreen())


def exmado_app(node: object) -> ExmadoApp:
    """The `ExmadoApp` that `node` (a screen, modal or widget, or a mixin of one) runs in."""
    if not isinstance(node, DOMNode):
        raise TypeError(f"{type(node).__name__} is no part of a Textual app")
    app = node.app
    if not isinstance(app, ExmadoApp):
        raise TypeError(f"{type(node).__name__} runs in {type(app).__name__}, not ExmadoApp")
    return app


def on_view(screen: Screen[Any]) -> bool:
    """Whether a screen's widgets may be shown to: it is current and the app is not closing (while
    it closes, each screen stays current as its widgets are removed, so a read ending then would
    find them gone)."""
    return screen.is_current and screen.is_attached


# -- the read-only rule ------------------------------------------------------------------------


def mutating(method: F) -> F:
    """Mark an action method as changing something: a read-only dashboard neither runs it nor
    shows its key."""
    method.mutating = True  # type: ignore[attr-defined]
    return method


def is_mutating(node: object, action: str | ActionParseResult) -> bool:
    """Whether `action`, run on `node`, is an action method marked `@mutating`."""
    name = (parse(action) if isinstance(action, str) else action)[1]
    return bool(getattr(getattr(node, f"action_{name}", None), "mutating", False))


def refused(node: DOMNode, action: str | ActionParseResult) -> bool:
    """In a read-only dashboard, refuse a mutating action with a notice (True: refused)."""
    app = exmado_app(node)
    if not app.readonly or not is_mutating(node, action):
        return False
    name = (parse(action) if isinstance(action, str) else action)[1]
    app.notify(READONLY_NOTICE.format(what=name.replace("_", " ")), severity="warning")
    return True


class HidesMutatingKeys:
    """For a screen: in a read-only dashboard its mutating actions are disabled and hidden (the
    key still reaches `ExmadoApp.run_action`, which says why nothing happens)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (exmado_app(self).readonly and is_mutating(self, action))


# -- the job actions a screen mixes in ---------------------------------------------------------

JOB_ACTION_BINDINGS = [
    Binding("s", "start", "Start"),
    Binding("p", "pause", "Pause"),
    Binding("r", "resume", "Resume"),
    Binding("c", "cancel_job", "Cancel"),
    Binding("R", "retry", "Retry"),
    Binding("F", "fail", "Fail", show=False),
    Binding("T", "terminate", "Terminate", show=False),
    Binding("d,delete", "delete", "Delete"),
]


class JobActionsMixin:
    """Mixed into a Screen; the screen provides `target_jobs` and `after_job_action`."""

    def target_jobs(self) -> list[JobSummary]:
        raise NotImplementedError

    def after_job_action(self, action: str) -> None:
        """Called once the service has answered (refresh, clear marks, leave the screen…)."""

    @mutating
    def action_start(self) -> None:
        self.run_job_action("start")

    @mutating
    def action_pause(self) -> None:
        self.run_job_action("pause")

    @mutating
    def action_resume(self) -> None:
        self.run_job_action("resume")

    @mutating
    def action_cancel_job(self) -> None:
        self.run_job_action("cancel")

    @mutating
    def action_retry(self) -> None:
        self.run_job_action("retry")

    @mutating
    def action_fail(self) -> None:
        self.run_job_action("fail")

    @mutating
    def action_terminate(self) -> None:
        self.run_job_action("terminate")

    @mutating
    def action_delete(self) -> None:
        self.run_job_action("delete")

    def run_job_action(self, name: str) -> None:
        self.run_worker(self._job_action(name), group="job-action")  # type: ignore[attr-defined]

    async def _job_action(self, name: str) -> None:
        jobs = self._applicable(name, self.target_jobs())
        if not jobs:
            return
        options = await self._ask(name, jobs)
        if options is None:
            return
        await exmado_app(self).perform(name, [job.id for job in jobs], **options)
        self.after_job_action(name)

    def _applicable(self, name: str, jobs: list[JobSummary]) -> list[JobSummary]:
        """A single job goes to the service as is (its refusal names the reason); of several,
        only those in a state that allows the action, with a word about the rest."""
        if not jobs:
            exmado_app(self).notify("No job selected.", severity="warning")
            return []
        if len(jobs) == 1:
            return jobs
        action = ACTIONS[name]
        fit = [job for job in jobs if job.status in action.allowed]
        if len(fit) < len(jobs):
            exmado_app(self).notify(
                f"{counted(len(jobs) - len(fit), 'job')} skipped: "
                f"{action.label.lower()} does not apply in their state.",
                severity="warning",
            )
        return fit

    async def _ask(self, name: str, jobs: list[JobSummary]) -> dict[str, Any] | None:
        """The options the user chose, or None if they backed out."""
        what = (
            f"job {jobs[0].short_id} ({visible(jobs[0].name)})"
            if len(jobs) == 1
            else counted(len(jobs), "job")
        )
        if name == "delete":
            keep = await exmado_app(self).push_screen_wait(
                DeleteJobModal(what, [visible(job.output_dir) for job in jobs])
            )
            return None if keep is None else {"keep_files": keep}
        if name == "fail":
            reason = await exmado_app(self).push_screen_wait(FailJobModal(what))
            return None if reason is None else {"reason": reason}
        action = ACTIONS[name]
        if action.confirm or len(jobs) > 1:
            question = f"{action.label} {what}?"
            if not await exmado_app(self).push_screen_wait(
                ConfirmModal(question, yes=action.label)
            ):
                return None
        return {}


VERIFY_BINDING = Binding("v", "verify", "Verify")
VERIFY_SEVERITY: dict[Verdict, SeverityLevel] = {
    Verdict.ALL_MATCH: "information",
    Verdict.DIFFERENCES: "warning",
    Verdict.COULD_NOT_VERIFY: "error",
}
VERIFY_TITLE = {
    Verdict.ALL_MATCH: "Verified: all match",
    Verdict.DIFFERENCES: "Verified: differences found",
    Verdict.COULD_NOT_VERIFY: "Could not verify",
}


def verify_applies(job: JobSummary | None) -> bool | None:
    """Only an ended job has a manifest to verify; otherwise the key shows dimmed."""
    return True if job is not None and job.status in FINAL else None


class VerifyActionMixin:
    """Mixed into a Screen showing one job (`job_id`); `after_verify` refreshes it."""

    job_id: str

    def after_verify(self) -> None:
        """Called once the result is in the job's events."""

    @mutating  # it writes the job's events
    def action_verify(self) -> None:
        self.run_worker(self._verify(), group="verify", exclusive=True)  # type: ignore[attr-defined]

    async def _verify(self) -> None:
        from exmado_tui.output.verify import verify_and_record

        app = exmado_app(self)
        backend = app.backend
        app.notify(f"Verifying job {self.job_id[:8]} against its manifest…")
        # A prober thread: hashing a large folder must not hold up the store reads.
        verdict, sentence = await backend.probe(
            verify_and_record, self.job_id, backend.settings, backend.service.actor
        )
        title, severity = VERIFY_TITLE[verdict], VERIFY_SEVERITY[verdict]
        app.notify(sentence, title=title, severity=severity, timeout=10)
        self.after_verify()


# -- the factory -------------------------------------------------------------------------------


def make_app(
    settings: Settings,
    *,
    readonly: bool = False,
    service: JobService | None = None,
    clock: Clock | None = None,
    probe: DocuWareProbe | None = None,
) -> ExmadoApp:
    """The dashboard over an open job store. `clock` (naive UTC) and `probe` are for tests."""
    actor = Actor.here(Door.DASHBOARD, settings.host)  # the browser's under `exmado serve`
    backend = Backend(service or JobService(settings, actor=actor), clock)
    return ExmadoApp(backend, readonly=readonly, probe=probe or DocuWareProbe(settings.docuware))
