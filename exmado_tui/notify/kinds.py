"""The words of notifications, free of the store: what a notice is about, and where its
delivery to one target stands."""

from __future__ import annotations

from enum import StrEnum


class NoticeKind(StrEnum):
    FINISHED = "job.finished"
    FINISHED_WITH_ERRORS = "job.finished_with_errors"
    FAILED = "job.failed"
    NEEDS_ATTENTION = "job.needs_attention"
    REJECTED = "dropfolder.rejected"
    TEST = "test"

    @property
    def is_failure(self) -> bool:
        """What a `failures_only` target hears: all but a clean finish (a test always goes)."""
        return self is not NoticeKind.FINISHED


class DeliveryState(StrEnum):
    PENDING = "pending"  # not sent yet, or failed and waiting for its next try
    DELIVERED = "delivered"
    GIVEN_UP = "given_up"  # still failing `give_up_after_s` after the notice was written
