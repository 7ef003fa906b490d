"""Every answer DocuWare gives a worker, told to whoever counts them (the worker's metrics).

The client knows no metrics library: it calls `answered` for each answer, and by default
nothing listens. A worker process with `[metrics] listen` set installs its Prometheus counters
(`workers.metrics`) at boot.
"""

from __future__ import annotations

from typing import Protocol

from exmado_tui.docuware.budget_store import Kind


class AnswerTally(Protocol):
    def answered(self, kind: Kind, status: int) -> None: ...


class _Nobody:
    def answered(self, kind: Kind, status: int) -> None:
        return None


_tally: AnswerTally = _Nobody()


def install(tally: AnswerTally) -> None:
    """Count this process's answers with `tally` from now on."""
    global _tally
    _tally = tally


def answered(kind: Kind, status: int) -> None:
    _tally.answered(kind, status)
