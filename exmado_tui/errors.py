"""The error tree: each error says whether trying again could help, and its text is for users."""

from __future__ import annotations


class ExmadoError(Exception):
    """Base of every error Éxmado raises on purpose; `str(err)` is one sentence for a user."""

    retryable: bool = False


class RetryableError(ExmadoError):
    """A passing condition (network, throttling, a busy server): the same work may succeed later."""

    retryable = True


class PermanentError(ExmadoError):
    """Trying again will give the same answer until someone changes something."""


class SettingsError(PermanentError):
    """A configuration key, file or environment variable is wrong."""


class ProfileError(PermanentError):
    """A profile file is missing or wrong."""


class WorkbookError(PermanentError):
    """A workbook cannot be used: wrong format, protected, empty, missing column..."""


class JobNotFoundError(PermanentError):
    """No job matches the id given."""


class TransitionError(PermanentError):
    """The job is not in a state that allows the requested change."""


class QueueUnavailableError(RetryableError):
    """Redis cannot be reached, so a message could not be sent."""


class StoreUnavailableError(RetryableError):
    """The job store cannot be reached just now (SQLite locked, PostgreSQL restarting or the
    connection lost); `reason` is what the database said, `store` its URL, password masked."""

    def __init__(self, message: str, *, reason: str = "", store: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message
        self.store = store


class NoSpaceError(PermanentError):
    """A disk or quota is full where Éxmado writes (`folder`): nothing more can be written
    there until someone frees space, so the job stops at once instead of failing row by row."""

    def __init__(self, message: str, *, folder: str) -> None:
        super().__init__(message)
        self.folder = folder


class StoreIdentityError(PermanentError):
    """The job store this data folder recorded is gone or was swapped for another: nothing is
    read from or written to what stands there until someone restores it or runs
    `exmado store init`."""
