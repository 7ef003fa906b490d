"""The job actions a screen mixes in. `JobActionsMixin`: every job action (start … terminate,
delete) for any screen that can say which jobs the user means; confirmation where the action
cannot be undone. `VerifyActionMixin`: `v` on a job's screen checks its output folder against
its manifest (`exmado jobs verify`, DocuWare not asked) on a thread of its own; the result is
a notice and a line in the job's events naming who ran it."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.notifications import SeverityLevel

from exmado_tui.formatting import visible
from exmado_tui.job.status import FINAL
from exmado_tui.output.verify import Verdict
from exmado_tui.store.queries import JobSummary
from exmado_tui.ui.app import exmado_app, mutating
from exmado_tui.ui.logic.jobs import ACTIONS, jobs_word
from exmado_tui.ui.modals import ConfirmModal, DeleteJobModal, FailJobModal

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


VERIFY_BINDING = Binding("v", "verify", "Verify")
SEVERITY: dict[Verdict, SeverityLevel] = {
    Verdict.ALL_MATCH: "information",
    Verdict.DIFFERENCES: "warning",
    Verdict.COULD_NOT_VERIFY: "error",
}
TITLE = {
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
        app.notify(sentence, title=TITLE[verdict], severity=SEVERITY[verdict], timeout=10)
        self.after_verify()
