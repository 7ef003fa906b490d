"""`JobActionsMixin`: every job action (start … terminate, delete) for any screen that can say
which jobs the user means; confirmation where the action cannot be undone."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from exmado_tui.formatting import visible
from exmado_tui.store.queries import JobSummary
from exmado_tui.ui.logic.actions import ACTIONS, jobs_word
from exmado_tui.ui.modals.confirm import ConfirmModal
from exmado_tui.ui.modals.delete_job import DeleteJobModal
from exmado_tui.ui.modals.fail_job import FailJobModal
from exmado_tui.ui.shared.app_access import exmado_app
from exmado_tui.ui.shared.readonly import mutating

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
                f"{jobs_word(len(jobs) - len(fit))} skipped: "
                f"{action.label.lower()} does not apply in their state.",
                severity="warning",
            )
        return fit

    async def _ask(self, name: str, jobs: list[JobSummary]) -> dict[str, Any] | None:
        """The options the user chose, or None if they backed out."""
        what = (
            f"job {jobs[0].short_id} ({visible(jobs[0].name)})"
            if len(jobs) == 1
            else jobs_word(len(jobs))
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
