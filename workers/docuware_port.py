"""The DocuWare port: what the pipeline needs of DocuWare, and nothing more.

A row's search and download carry its job's `RowPermits` (`permits`): the request budget
lends a held request's permit to the rows behind it and tells the job's throttle watch.

`AsyncDocuWareClient` is the one real implementation; the pipeline tests' fake and the
contract suite (tests/integration/test_docuware_contract.py) keep to the same shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Protocol

from exmado_tui.docuware.budget import RowPermits
from exmado_tui.docuware.models import Dialog, Document, DownloadResult, FieldInfo, FileCabinet
from exmado_tui.docuware.query import Query


class DocuWarePort(Protocol):
    async def find_cabinet(self, name_or_id: FileCabinet | str) -> FileCabinet: ...

    async def dialog(self, cabinet: FileCabinet | str, dialog_id: str | None = None) -> Dialog: ...

    async def cabinet_fields(self, cabinet: FileCabinet | str) -> list[FieldInfo]: ...

    def search(
        self,
        cabinet: FileCabinet | str,
        query: Query = None,
        *,
        dialog: str | None = None,
        sort: Iterable[str | tuple[str, str]] | None = None,
        page_size: int = 1000,
        limit: int | None = None,
        max_pages: int | None = None,
        permits: RowPermits | None = None,
    ) -> AsyncIterator[Document]: ...

    async def download(
        self,
        document: Document,
        dest: Path,
        *,
        target: str = "Auto",
        keep_annotations: bool = False,
        fsync: bool = True,
        max_mb: float | None = None,
        permits: RowPermits | None = None,
    ) -> DownloadResult: ...

    async def aclose(self) -> None: ...
