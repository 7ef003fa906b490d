"""What the "From a search" form needs besides widgets: its conditions as one line (written as
on the command line, quotes around a value with spaces), a condition added from a field, and
the form checked before a job is made. No Textual here.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from exmado_tui.docuware.conditions import parse_conditions
from exmado_tui.job.query_source import QuerySource


@dataclass(frozen=True)
class SearchForm:
    cabinet: str = ""
    dialog: str = ""
    conditions: str = ""  # `DOC_DATE=2023-01-01..2023-12-31 'SUPPLIER=ACME Corp*'`
    profile: str = ""  # empty: no profile, the files keep DocuWare's names
    name: str = ""
    output: str = ""

    def source(self, counted: int | None = None) -> QuerySource:
        """The query the form asks; ValueError in one sentence for conditions it cannot read."""
        texts = split_conditions(self.conditions)
        parse_conditions(texts)
        return QuerySource(self.cabinet, texts, self.dialog, counted)


def split_conditions(line: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(line))
    except ValueError as exc:  # an unclosed quote
        raise ValueError(f"The conditions cannot be read ({exc}); close the quote.") from None


def add_condition(line: str, field: str, value: str) -> str:
    """`line` with `FIELD=VALUE` appended, quoted when it needs it."""
    return " ".join(part for part in (line.strip(), shlex.quote(f"{field}={value}")) if part)


@dataclass(frozen=True)
class Count:
    """DocuWare's answer to the form's query: how many documents, or why none can be said."""

    documents: int | None = None
    error: str = ""

    @property
    def shown(self) -> str:
        if self.error:
            return self.error
        if self.documents is None:
            return "-"
        return f"{self.documents:,} document{'s' if self.documents != 1 else ''}"


def validate_search(form: SearchForm, count: Count) -> dict[str, str]:
    """Every problem of the form, by field, in one sentence each."""
    errors: dict[str, str] = {}
    if not form.cabinet:
        errors["cabinet"] = "Pick the DocuWare file cabinet to search."
    try:
        form.source()
    except ValueError as exc:
        errors["conditions"] = str(exc)
    if count.error:
        errors["count"] = count.error
    elif count.documents is None:
        errors["count"] = "Wait for DocuWare's count of the documents."
    elif count.documents == 0:
        errors["count"] = "The search finds no document; change the conditions."
    return errors
