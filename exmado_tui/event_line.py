"""`Event`: one line of a job's log, free of the store, so the DocuWare client and the
pipeline's rows can say what happened without loading it (`events` stores and logs them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The names of the logging levels the process log writes the line at.
EventLevel = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Event:
    """One line of a job's log: what happened, and how much it matters."""

    text: str
    level: EventLevel = "info"
