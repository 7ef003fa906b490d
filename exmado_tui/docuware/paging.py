"""How far a search follows its `next` links: the pages its declared count needs, and a cap.

A server that declares 10,000,000 hits and serves `next` pages for ever must not hold a batch
of rows for minutes. Once the pages that `Count.Value` needs at the first page's size are read
(when `HasMore` does not say the count is only a floor), the search has every hit it declared
and stops following; one that needs more than `cap` pages fails with a sentence (at once when
its declared count says so), and its rows with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exmado_tui.docuware.errors import RefusedAnswerError
from exmado_tui.docuware.types import to_int

# Pages a search follows when its caller sets no cap of its own (a million hits at 1,000).
MAX_PAGES = 1000


@dataclass
class Pages:
    """The pages read so far of one search, and how many it may read."""

    path: str
    declared: int | None
    per_page: int
    cap: int
    read: int = 1

    @classmethod
    def of(cls, first: Mapping[str, Any], items: int, path: str, cap: int | None) -> Pages:
        count = first.get("Count")
        declared = None
        if isinstance(count, Mapping) and not count.get("HasMore"):
            declared = to_int(count.get("Value"))
        return cls(path, declared, max(items, 1), cap or MAX_PAGES)

    @property
    def needed(self) -> int | None:
        """The pages the declared count fills at the first page's size."""
        return None if self.declared is None else math.ceil(self.declared / self.per_page)

    def another(self) -> bool:
        """Count one more page: False when the declared hits are all read; past the cap, a
        refusal with a sentence."""
        needed = self.needed
        if needed is not None and self.read >= needed:
            return False
        if self.read >= self.cap or (needed or 0) > self.cap:  # the cap would stop it anyway
            said = "" if self.declared is None else f" for the {self.declared:,} hits it declared"
            raise self._refusal(
                f"would send more than {self.cap:,} result pages of {self.per_page:,}{said}"
            )
        self.read += 1
        return True

    def _refusal(self, what: str) -> RefusedAnswerError:
        return RefusedAnswerError(
            f"DocuWare {what} for one search; the search was stopped.", path=self.path
        )
