"""The error tree: each error says whether trying again could help, and its text is for users."""

from __future__ import annotations

from collections.abc import Callable


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


class QueryError(PermanentError):
    """A DocuWare query that cannot make a job: an unknown field, a value its type refuses,
    nothing found."""


class WorkbookError(PermanentError):
    """A workbook cannot be used: wrong format, protected, empty, missing column..."""


class JobNotFoundError(PermanentError):
    """No job matches the id given."""


class TransitionError(PermanentError):
    """The job is not in a state that allows the requested change."""


class QueueUnavailableError(RetryableError):
    """Redis cannot be reached, so a message could not be sent."""


class DeliveryError(RetryableError):
    """A notification target did not take a notice (down, refusing, a wrong login); the
    sentence says what it answered, never a secret. Tried again later."""


class StoreUnavailableError(RetryableError):
    """The job store cannot be reached just now (SQLite locked, PostgreSQL restarting or the
    connection lost); `reason` is what the database said, `store` its URL, password masked."""

    def __init__(self, message: str, *, reason: str = "", store: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message
        self.store = store


class BlockedFolderError(PermanentError):
    """Nothing more can be written in `folder` until someone acts, so a job stops at once
    (paused) instead of failing row by row; `reason` names the cause, `fix` what to do."""

    reason = "cannot write"
    fix = "fix that"

    def __init__(self, message: str, *, folder: str) -> None:
        super().__init__(message)
        self.folder = folder


class StoreIdentityError(PermanentError):
    """The job store this data folder recorded is gone or was swapped for another: nothing is
    read from or written to what stands there until someone restores it or runs
    `exmado store init`."""


class NoSpaceError(BlockedFolderError):
    """A disk or quota is full where Éxmado writes."""

    reason = "no space left"
    fix = "free some space there"


class NotWritableError(BlockedFolderError):
    """The user the workers run as may not write the folder (permissions, a read-only mount)."""

    reason = "output folder not writable"
    fix = "make it writable for the user the workers run as"


def in_chain(exc: BaseException, test: Callable[[BaseException], bool]) -> bool:
    """Whether `exc`, or an error it was raised from or while handling, passes `test`."""
    seen: BaseException | None = exc
    for _ in range(8):  # a chain is short; a cycle of contexts must not hang us
        if seen is None:
            return False
        if test(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
