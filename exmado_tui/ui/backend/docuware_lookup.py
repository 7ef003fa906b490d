"""`DocuWareLookup`: cabinets, dialogs and fields for the new-job form, through the blocking
DocuWare session (the caller runs each method on a worker thread). No Textual here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from exmado_tui.config.settings import DocuWareSettings
from exmado_tui.job.query_source import QuerySource, count_query

Options = list[tuple[str, str]]
INTERACTIVE_TIMEOUT_S = 10.0


class DocuWareLookup:
    """One signed-in session, opened on first use and kept for the form's lifetime."""

    def __init__(self, settings: DocuWareSettings) -> None:
        self.settings = settings
        self._session: Any = None

    @property
    def session(self) -> Any:
        if self._session is None:
            from exmado_tui.docuware.session import DocuWareSession

            # A person waits at the form: two tries and a 10 s limit, not a worker's patience.
            patient = replace(
                self.settings,
                max_attempts=2,
                timeout_s=min(self.settings.timeout_s, INTERACTIVE_TIMEOUT_S),
            )
            self._session = DocuWareSession(patient)
        return self._session

    def cabinets(self) -> Options:
        return [(c.name, c.name) for c in self.session.file_cabinets()]

    def dialogs(self, cabinet: str) -> Options:
        return [
            (d.name + (" (default)" if d.is_default else ""), d.id)
            for d in self.session.search_dialogs(cabinet)
            if d.type.lower() in ("search", "")
        ]

    def fields(self, cabinet: str, dialog: str = "") -> Options:
        found = self.session.dialog(cabinet, dialog or None).fields
        return [(f"{f.label} ({f.db_name})", f.db_name) for f in found]

    def count(self, source: QuerySource) -> int:
        """DocuWare's count of the query's documents (ValueError: a field or value refused)."""
        return count_query(self.session, source)

    def explain(self, exc: BaseException) -> str:
        """The error's own sentence, naming the server when it does not already."""
        text = str(exc)
        return text if self.settings.url in text else f"DocuWare at {self.settings.url}: {text}"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
