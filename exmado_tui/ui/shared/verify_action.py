"""`VerifyActionMixin`: `v` on a job's screen checks its output folder against its manifest
(`exmado jobs verify`, DocuWare not asked) on a thread of its own; the result is a notice and
a line in the job's events naming who ran it."""

from __future__ import annotations

from textual.binding import Binding
from textual.notifications import SeverityLevel

from exmado_tui.job.status import FINAL
from exmado_tui.output.verify import Verdict
from exmado_tui.store.queries import JobSummary
from exmado_tui.ui.shared.app_access import exmado_app
from exmado_tui.ui.shared.readonly import mutating

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
        from exmado_tui.output.verification import verify_and_record

        app = exmado_app(self)
        backend = app.backend
        app.notify(f"Verifying job {self.job_id[:8]} against its manifest…")
        # A prober thread: hashing a large folder must not hold up the store reads.
        verdict, sentence = await backend.probe(
            verify_and_record, self.job_id, backend.settings, backend.service.actor
        )
        app.notify(sentence, title=TITLE[verdict], severity=SEVERITY[verdict], timeout=10)
        self.after_verify()
