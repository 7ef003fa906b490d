"""`AsyncDocuWareClient`: cabinets, dialogs, search and downloads over DocuWare's Platform API.

Navigation follows links (service description → organizations → filecabinets → dialogs →
dialog self → Query dialogExpression) and falls back to the documented paths when a link is
missing. Cabinets, dialogs and cabinet descriptions are cached per client: the cabinet
description call is throttled on DocuWare Cloud.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx

from exmado_tui.config.settings import PLATFORM, DocuWareSettings
from exmado_tui.docuware.body import (
    document_limits,
    refuse_wrong_type,
    safe_filename,
    stream_to_file,
)
from exmado_tui.docuware.budget import Budget, RowPermits
from exmado_tui.docuware.connection import Connection, parse_body, parse_json
from exmado_tui.docuware.errors import (
    Clock,
    NotFoundError,
    RetryPolicy,
    Sleep,
    UnexpectedResponseError,
)
from exmado_tui.docuware.models import (
    Dialog,
    DialogInfo,
    Document,
    DocumentRef,
    DownloadResult,
    FieldInfo,
    FileCabinet,
    Organization,
    Section,
    ServiceDescription,
    links_of,
)
from exmado_tui.docuware.paging import Pages
from exmado_tui.docuware.query import Exact, Or, Query, clamp_page_size, expression_body
from exmado_tui.docuware.values import to_int

log = logging.getLogger("exmado.docuware")

CabinetLike = FileCabinet | str
DocumentLike = Document | DocumentRef | tuple[str, int]
TARGETS = {"auto": "Auto", "pdf": "PDF", "zip": "Zip"}
PAGE = "a search page"  # what a search's answer is called in a sentence about its size


class AsyncDocuWareClient:
    """One signed-in DocuWare session; safe to share between concurrent tasks of one loop."""

    def __init__(
        self,
        settings: DocuWareSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        budget: Budget | None = None,
    ) -> None:
        self.settings = settings
        self.conn = Connection(
            settings, transport=transport, retry=retry, clock=clock, sleep=sleep, budget=budget
        )
        self._cabinets: list[FileCabinet] | None = None
        self._organizations: list[Organization] | None = None
        self._descriptions: dict[str, dict[str, Any]] = {}
        self._dialog_lists: dict[str, list[DialogInfo]] = {}
        self._dialogs: dict[tuple[str, str], Dialog] = {}

    async def __aenter__(self) -> AsyncDocuWareClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Log off a cookie session and close the pool."""
        await self.conn.aclose()

    @property
    def auth_mode(self) -> str | None:
        """ "oauth", "cookie" or "client_credentials" once signed in (None before, in auto)."""
        return self.conn.auth.mode

    async def login(self) -> str:
        """Sign in now rather than on the first request; the auth mode used."""
        await self.conn.auth.ensure()
        return str(self.conn.auth.mode)

    # --- reading ---------------------------------------------------------------------

    async def service_description(self) -> ServiceDescription:
        body = await self.conn.json("GET", PLATFORM, authenticated=False)
        return ServiceDescription(str(body.get("Version", "")), links_of(body))

    async def organizations(self) -> list[Organization]:
        if self._organizations is None:
            body = await self._lookup(PLATFORM + "/Organizations")
            self._organizations = [Organization.from_json(o) for o in _items(body, "Organization")]
        return self._organizations

    async def organization(self) -> Organization:
        """The configured organization (by name or id), else the first one."""
        orgs = await self.organizations()
        wanted = self.settings.organization.casefold()
        for org in orgs:
            if wanted and wanted in (org.name.casefold(), org.id.casefold()):
                return org
        if not orgs:
            raise NotFoundError("DocuWare lists no organization for this user.", path=PLATFORM)
        return orgs[0]

    async def file_cabinets(self, include_baskets: bool = False) -> list[FileCabinet]:
        if self._cabinets is None:
            org = await self.organization()
            href = org.links.get("filecabinets") or f"{PLATFORM}/FileCabinets?orgid={org.id}"
            body = await self._lookup(href)
            self._cabinets = [FileCabinet.from_json(c) for c in _items(body, "FileCabinet")]
        return [c for c in self._cabinets if include_baskets or not c.is_basket]

    async def find_cabinet(self, name_or_id: CabinetLike) -> FileCabinet:
        """A cabinet (or basket) by id, or by name ignoring case."""
        if isinstance(name_or_id, FileCabinet):
            return name_or_id
        cabinets = await self.file_cabinets(include_baskets=True)
        for cabinet in cabinets:
            if cabinet.id == name_or_id:
                return cabinet
        matches = [c for c in cabinets if c.name.casefold() == name_or_id.casefold()]
        if matches:
            return sorted(matches, key=lambda c: c.is_basket)[0]
        names = ", ".join(c.name for c in cabinets if not c.is_basket) or "none"
        raise NotFoundError(
            f"No file cabinet named {name_or_id!r} is visible; cabinets: {names}.",
            path=PLATFORM + "/FileCabinets",
        )

    async def cabinet_description(self, cabinet: CabinetLike) -> dict[str, Any]:
        """The full cabinet resource (with `Fields`), fetched once per client."""
        fc = await self.find_cabinet(cabinet)
        if fc.id not in self._descriptions:
            href = fc.links.get("self") or f"{PLATFORM}/FileCabinets/{fc.id}"
            self._descriptions[fc.id] = await self._lookup(href)
        return self._descriptions[fc.id]

    async def cabinet_fields(self, cabinet: CabinetLike) -> list[FieldInfo]:
        """Every field of the cabinet; the default search dialog's fields when not listed."""
        body = await self.cabinet_description(cabinet)
        fields = _items(body, "Fields")
        if not fields:
            return list((await self.dialog(cabinet)).fields)
        return [FieldInfo.from_json(f) for f in fields]

    async def search_dialogs(self, cabinet: CabinetLike) -> list[DialogInfo]:
        """Search dialogs usable by API clients (ids with `_` are mobile/internal copies)."""
        fc = await self.find_cabinet(cabinet)
        if fc.id not in self._dialog_lists:
            href = fc.links.get("searches") or _with_type(fc.links.get("dialogs"), fc.id)
            body = await self._lookup(href)
            dialogs = [DialogInfo.from_json(d) for d in _items(body, "Dialog")]
            self._dialog_lists[fc.id] = [
                d for d in dialogs if d.type in ("Search", "") and "_" not in d.id
            ]
        return self._dialog_lists[fc.id]

    async def dialog(self, cabinet: CabinetLike, dialog_id: str | None = None) -> Dialog:
        """A full search dialog; None = the default one (IsDefault, else the first)."""
        fc = await self.find_cabinet(cabinet)
        infos = await self.search_dialogs(fc)
        info = _choose_dialog(infos, dialog_id, fc)
        key = (fc.id, info.id)
        if key not in self._dialogs:
            href = info.links.get("self") or f"{PLATFORM}/FileCabinets/{fc.id}/Dialogs/{info.id}"
            self._dialogs[key] = _dialog_from_json(await self._lookup(href), fc.id, info)
        return self._dialogs[key]

    async def _lookup(self, href: str) -> Any:
        """An organization, cabinet or dialog resource, kept an hour for every worker.

        Every job needs the same few, and cabinet calls are limited a minute on Cloud: the
        client keeps what it read (the caches above), and with a shared budget the workers
        share them through Redis, across jobs and restarts.
        """
        shared = self.conn.budget.lookups
        body = await shared.recall(href) if shared is not None else None
        if body is None:
            body = (await self.conn.request("GET", href)).content
            if shared is not None:
                await shared.remember(href, body)
        return parse_body(body, href)

    async def get_document(self, cabinet: CabinetLike, document_id: int) -> Document:
        fc = await self.find_cabinet(cabinet)
        body = await self.conn.json("GET", _documents_href(fc) + f"/{document_id}")
        return Document.from_json(body, fc.id)

    # --- search ----------------------------------------------------------------------

    async def search(
        self,
        cabinet: CabinetLike,
        query: Query = None,
        *,
        dialog: str | None = None,
        sort: Iterable[str | tuple[str, str]] | None = None,
        fields: Sequence[str] | None = None,
        page_size: int = 1000,
        limit: int | None = None,
        max_pages: int | None = None,
        permits: RowPermits | None = None,
    ) -> AsyncIterator[Document]:
        """Every matching document, page by page through the `next` links: at most the pages
        the declared count needs, and `max_pages` (`paging.Pages`). `permits`: the job's whose
        row searches (`budget.RowPermits`)."""
        fc = await self.find_cabinet(cabinet)
        found = await self.dialog(fc, dialog)
        count = clamp_page_size(min(page_size, limit) if limit else page_size)
        params: dict[str, Any] = {"count": count}
        if fields:
            params["fields"] = ",".join(fields)
        body = expression_body(query, sort=sort, count=count)
        page, size = await self._page(
            "POST",
            found.expression_href,
            json=body,
            params=params,
            idempotent=True,
            permits=permits,
        )
        yielded, pages = 0, None
        while True:
            items = _items(page, "Items")
            pages = pages or Pages.of(
                page, len(items), found.expression_href, max_pages, self.settings.max_json_mb
            )
            pages.add(size)
            for item in items:
                document = _document_or_none(item, fc.id)
                if document is None:
                    continue
                yield document
                yielded += 1
                if limit and yielded >= limit:
                    return
            next_href = links_of(page).get("next")
            if not next_href or not items or not pages.another():
                return
            page, size = await self._page("GET", next_href, permits=permits)

    async def count(
        self, cabinet: CabinetLike, query: Query = None, *, dialog: str | None = None
    ) -> int:
        """How many documents match, by DocuWare's own count (`Query/CountExpression`, the
        dialog's `count` link): one request whatever the total."""
        fc = await self.find_cabinet(cabinet)
        found = await self.dialog(fc, dialog)
        href = found.links.get("count") or (
            f"{PLATFORM}/FileCabinets/{fc.id}/Query/CountExpression?dialogId={found.id}"
        )
        body = {"DialogExpression": expression_body(query), "FieldName": "", "Limit": 0}
        answer = await self.conn.json("POST", href, json=body, idempotent=True)
        groups = _items(answer, "Group")
        total = to_int(groups[0].get("Count")) if groups else None
        if total is None:
            raise UnexpectedResponseError(f"DocuWare's count at {href} carries no number.")
        return total

    async def _page(self, method: str, url: str, **kwargs: Any) -> tuple[Any, int]:
        """A search result page and its size in bytes."""
        response = await self.conn.request(method, url, what=PAGE, **kwargs)
        return parse_json(response), len(response.content)

    async def search_keys(
        self,
        cabinet: CabinetLike,
        field: str,
        keys: Iterable[str],
        *,
        dialog: str | None = None,
        fields: Sequence[str] | None = None,
        batch_size: int = 50,
    ) -> dict[str, list[Document]]:
        """Exact search for many keys of one field with `Or` batches; hits attributed per key.

        `field` may be a DB name in any case or a dialog label: DocuWare returns `FieldName`
        as the dialog's DBFieldName, so the hits are matched by that name.
        """
        known = (await self.dialog(cabinet, dialog)).field(field)
        field = known.db_name if known else field
        wanted = list(dict.fromkeys(str(k) for k in keys))
        hits: dict[str, list[Document]] = {key: [] for key in wanted}
        by_norm: dict[str, list[str]] = {}
        for key in wanted:
            by_norm.setdefault(_norm(key), []).append(key)
        extra = list(dict.fromkeys([field, *(fields or ())]))
        for start in range(0, len(wanted), max(1, batch_size)):
            batch = wanted[start : start + batch_size]
            query = Or(*(Exact(field, key) for key in batch))
            async for document in self.search(cabinet, query, dialog=dialog, fields=extra):
                for key in by_norm.get(_norm(document.get_text(field)), []):
                    hits[key].append(document)
        return hits

    # --- download --------------------------------------------------------------------

    async def download(
        self,
        document: DocumentLike,
        dest: Path,
        *,
        target: str = "Auto",
        keep_annotations: bool = False,
        fsync: bool = True,
        max_mb: float | None = None,
        permits: RowPermits | None = None,
    ) -> DownloadResult:
        """Stream the document to `dest`: Auto (original, ZIP when several files), PDF or Zip.

        `dest` is fsynced unless `fsync` is False (the caller then fsyncs it before use). The
        body is cut past `max_mb` (`[jobs] max_document_mb`) or well past the size DocuWare
        declared for the document (`download.document_limits`). `permits`: the job's whose row
        downloads it (`budget.RowPermits`).
        """
        kind = TARGETS.get(target.lower())
        if kind is None:
            raise ValueError(f"Download format must be Auto, PDF or Zip, got {target!r}.")
        href, doc_id = self._file_download_href(document)
        params = {"targetFileType": kind, "keepAnnotations": str(keep_annotations).lower()}
        response = await self.conn.request(
            "GET", href, params=params, stream=True, headers={"Accept": "*/*"}, permits=permits
        )
        await refuse_wrong_type(response, kind, str(doc_id))
        declared = document.file_size if isinstance(document, Document) else 0
        limits = document_limits(str(doc_id), declared, max_mb, self.conn.rate_floor())
        return await stream_to_file(response, Path(dest), str(doc_id), limits, fsync=fsync)

    async def download_section(
        self, cabinet: CabinetLike, section: Section | str, dest: Path, max_mb: float | None = None
    ) -> DownloadResult:
        """Stream one file (section) of a document, via its `fileDownload` link or `…/Data`."""
        fc = await self.find_cabinet(cabinet)
        if isinstance(section, str) or "fileDownload" not in section.links:
            section_id = section if isinstance(section, str) else section.id
            href = f"{PLATFORM}/FileCabinets/{fc.id}/Sections/{section_id}"
            section = Section.from_json(await self.conn.json("GET", href))
        href = section.links.get("fileDownload") or (
            f"{PLATFORM}/FileCabinets/{fc.id}/Sections/{section.id}/Data"
        )
        response = await self.conn.request("GET", href, stream=True, headers={"Accept": "*/*"})
        name = f"section-{section.id}"
        limits = document_limits(name, section.file_size, max_mb, self.conn.rate_floor())
        result = await stream_to_file(response, Path(dest), name, limits)
        if section.original_filename and not response.headers.get("Content-Disposition"):
            name = safe_filename(section.original_filename, result.filename)
            return dataclasses.replace(result, filename=name)
        return result

    def _file_download_href(self, document: DocumentLike) -> tuple[str, int]:
        if isinstance(document, Document) and document.links.get("fileDownload"):
            return document.links["fileDownload"], document.id
        ref = document.ref if isinstance(document, Document) else document
        cabinet_id, doc_id = (ref.cabinet_id, ref.id) if isinstance(ref, DocumentRef) else ref
        return f"{PLATFORM}/FileCabinets/{cabinet_id}/Documents/{doc_id}/FileDownload", doc_id


def _items(body: Any, key: str) -> list[dict[str, Any]]:
    """The list under `key` of a collection wrapper (tolerating a single bare object)."""
    value = body.get(key) if isinstance(body, dict) else None
    if isinstance(value, dict):
        value = [value]
    return [v for v in value or [] if isinstance(v, dict)]


def _with_type(href: str | None, cabinet_id: str) -> str:
    base = href or f"{PLATFORM}/FileCabinets/{cabinet_id}/Dialogs"
    return str(httpx.URL(base).copy_merge_params({"dialogType": "Search"}))


def _documents_href(fc: FileCabinet) -> str:
    return (fc.links.get("documents") or f"{PLATFORM}/FileCabinets/{fc.id}/Documents").split("?")[0]


def _choose_dialog(infos: list[DialogInfo], dialog_id: str | None, fc: FileCabinet) -> DialogInfo:
    if dialog_id:
        for info in infos:
            if dialog_id in (info.id, info.name):
                return info
        return DialogInfo(dialog_id, dialog_id, "Search")
    if not infos:
        raise NotFoundError(
            f"File cabinet {fc.name!r} has no search dialog for this user.",
            path=f"{PLATFORM}/FileCabinets/{fc.id}/Dialogs",
        )
    return next((i for i in infos if i.is_default), infos[0])


def _dialog_from_json(body: dict[str, Any], cabinet_id: str, info: DialogInfo) -> Dialog:
    dialog_id = str(body.get("Id") or info.id)
    raw_query = body.get("Query")
    query: dict[str, Any] = raw_query if isinstance(raw_query, dict) else {}
    expression = links_of(query).get("dialogExpression") or (
        f"{PLATFORM}/FileCabinets/{cabinet_id}/Query/DialogExpression?dialogId={dialog_id}"
    )
    return Dialog(
        id=dialog_id,
        name=str(body.get("DisplayName") or info.name),
        cabinet_id=str(body.get("FileCabinetId") or cabinet_id),
        fields=tuple(FieldInfo.from_json(f) for f in _items(body, "Fields")),
        expression_href=expression,
        links=links_of(body),
    )


def _document_or_none(item: dict[str, Any], cabinet_id: str) -> Document | None:
    """A result item; a malformed one is logged and skipped rather than ending the search."""
    try:
        return Document.from_json(item, cabinet_id)
    except (TypeError, ValueError, AttributeError) as exc:
        log.warning("Skipped an unreadable search result item: %s", exc)
        return None


def _norm(value: str) -> str:
    """Compare keys as numbers when they are numbers ('0042' ≠ '42' for text)."""
    text = value.strip()
    if text and text.lstrip("-").replace(".", "", 1).isdigit() and not text.startswith("0"):
        try:
            return str(Decimal(text).normalize())
        except InvalidOperation:
            pass
    return text.casefold()
