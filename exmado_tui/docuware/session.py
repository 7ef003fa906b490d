"""`DocuWareSession`: a blocking face over `AsyncDocuWareClient` for the CLI and the TUI.

It runs one private event loop in a daemon thread for the session's lifetime instead of an
`asyncio.run` per call: the async client's pool, auth lock and login belong to one loop, and
one login per session matters (each cookie logon books a licence seat, token requests are
throttled on Cloud). It also works when the caller already runs a loop (Textual, pytest),
where `asyncio.run` would refuse.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from exmado_tui.config.settings import DocuWareSettings
from exmado_tui.docuware.client import AsyncDocuWareClient, CabinetLike, DocumentLike
from exmado_tui.docuware.models import (
    Dialog,
    DialogInfo,
    Document,
    DownloadResult,
    FieldInfo,
    FileCabinet,
    Section,
    ServiceDescription,
)

T = TypeVar("T")


class DocuWareSession:
    """Same operations as the async client, as plain calls; close it (or use `with`)."""

    def __init__(self, settings: DocuWareSettings, **client_options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="exmado-docuware", daemon=True
        )
        self._thread.start()
        self.client = AsyncDocuWareClient(settings, **client_options)

    def __enter__(self) -> DocuWareSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` (one using `self.client`) on the session's loop."""
        return self._call(coro)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._call(self.client.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    @property
    def auth_mode(self) -> str | None:
        return self.client.auth_mode

    def login(self) -> str:
        return self._call(self.client.login())

    def service_description(self) -> ServiceDescription:
        return self._call(self.client.service_description())

    def file_cabinets(self, include_baskets: bool = False) -> list[FileCabinet]:
        return self._call(self.client.file_cabinets(include_baskets))

    def find_cabinet(self, name_or_id: CabinetLike) -> FileCabinet:
        return self._call(self.client.find_cabinet(name_or_id))

    def search_dialogs(self, cabinet: CabinetLike) -> list[DialogInfo]:
        return self._call(self.client.search_dialogs(cabinet))

    def dialog(self, cabinet: CabinetLike, dialog_id: str | None = None) -> Dialog:
        return self._call(self.client.dialog(cabinet, dialog_id))

    def cabinet_fields(self, cabinet: CabinetLike) -> list[FieldInfo]:
        return self._call(self.client.cabinet_fields(cabinet))

    def get_document(self, cabinet: CabinetLike, document_id: int) -> Document:
        return self._call(self.client.get_document(cabinet, document_id))

    def search(self, cabinet: CabinetLike, query: Any = None, **options: Any) -> Iterator[Document]:
        """Lazily pulls pages through the session's loop."""
        return self._iterate(self.client.search(cabinet, query, **options))

    def count(self, cabinet: CabinetLike, query: Any = None, **options: Any) -> int:
        return self._call(self.client.count(cabinet, query, **options))

    def search_keys(self, cabinet: CabinetLike, field: str, keys: Any, **options: Any) -> Any:
        return self._call(self.client.search_keys(cabinet, field, keys, **options))

    def download(self, document: DocumentLike, dest: Path, **options: Any) -> DownloadResult:
        return self._call(self.client.download(document, dest, **options))

    def download_section(
        self, cabinet: CabinetLike, section: Section | str, dest: Path
    ) -> DownloadResult:
        return self._call(self.client.download_section(cabinet, section, dest))

    def _iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self._call(agen.__anext__())  # type: ignore[arg-type]
                except StopAsyncIteration:
                    return
        finally:
            self._call(agen.aclose())  # type: ignore[attr-defined]
