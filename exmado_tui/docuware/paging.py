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

from exmado_tui.docuware.body import MB, size_text
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
    max_mb: float  # `[docuware] max_json_mb`: all of a search's pages together
    read: int = 1
    size: int = 0  # bytes of the pages read

    @classmethod
    def of(
        cls, first: Mapping[str, Any], items: int, path: str, cap: int | None, max_mb: float
    ) -> Pages:
        count = first.get("Count")
        declared = None
        if isinstance(count, Mapping) and not count.get("HasMore"):
            declared = to_int(count.get("Value"))
        return cls(path, declared, max(items, 1), cap or MAX_PAGES, max_mb)

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
        if self.size > self.max_mb * MB:  # what a search holds: its hits of every page
            raise self._refusal(
                f"answered {size_text(self.size)} in {self.read:,} result pages of one search, "
                f"over [docuware] max_json_mb = {self.max_mb:g} (all its pages together)"
            )
        if self.read >= self.cap or (needed or 0) > self.cap:  # the cap would stop it anyway
            said = "" if self.declared is None else f" for the {self.declared:,} hits it declared"
            raise self._refusal(
                f"would send more than {self.cap:,} result pages of {self.per_page:,}{said} "
                "for one search"
            )
        self.read += 1
        return True

    def add(self, size: int) -> None:
        """Count a page's bytes."""
        self.size += size

    def _refusal(self, what: str) -> RefusedAnswerError:
        return RefusedAnswerError(f"DocuWare {what}; the search was stopped.", path=self.path)
