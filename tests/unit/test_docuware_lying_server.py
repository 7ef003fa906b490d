"""A DocuWare that lies, at the client's boundary: links to another server, answers too large
for their kind, endless result pages, downloads larger than declared. The sandbox's own handler
answers in-process; a wrapper rewrites the answers a case lies in and records every request,
the host included (a request the client sends elsewhere reaches the wrapper too)."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from exmado_tui.docuware.body import MB
from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.errors import RefusedAnswerError
from exmado_tui.docuware.query import Exact
from tests.docuware_inprocess import URL, InProcessSandbox

Rewrite = Callable[[httpx.Request, httpx.Response], httpx.Response]
ELSEWHERE = "http://collector.test:9999"


class Liar:
    def __init__(self, sandbox: InProcessSandbox, rewrite: Rewrite) -> None:
        self.sandbox, self.rewrite = sandbox, rewrite
        self.sent: list[httpx.Request] = []

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if not str(request.url).startswith(URL):
            return httpx.Response(200, content=b"%PDF collected")
        return self.rewrite(request, self.sandbox.answer(request))

    def client(self, **changes: Any) -> AsyncDocuWareClient:
        settings = self.sandbox.settings(**changes)
        return AsyncDocuWareClient(settings, transport=httpx.MockTransport(self.answer))

    def elsewhere(self) -> list[httpx.Request]:
        return [r for r in self.sent if not str(r.url).startswith(URL)]


def json_of(response: httpx.Response) -> Any:
    return response.json()


def search_answer(change: Callable[[dict[str, Any]], None]) -> Rewrite:
    """Rewrite every search page (the first and the `next` ones) with `change`."""

    def rewrite(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if "/Query/" not in request.url.path or response.status_code != 200:
            return response
        body = json_of(response)
        change(body)
        return httpx.Response(200, json=body)

    return rewrite


def links_elsewhere(rel: str, *, on_items: bool) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        holders = body["Items"] if on_items else [body]
        for holder in holders:
            path = f"/DocuWare/Platform/FileCabinets/x/{rel}"
            holder["Links"] = [{"rel": rel, "href": ELSEWHERE + path}]

    return change


@pytest.fixture
def sandbox() -> InProcessSandbox:
    return InProcessSandbox()


async def first_hit(client: AsyncDocuWareClient, sandbox: InProcessSandbox) -> Any:
    key = sandbox.catalogue.invoice_numbers_with_hits(1)[0]
    found = client.search("Invoices", Exact("INVOICE_NO", key))
    return [doc async for doc in found][0]


async def test_a_file_download_link_to_another_server_is_refused_and_nothing_is_sent(
    sandbox, tmp_path
):
    liar = Liar(sandbox, search_answer(links_elsewhere("fileDownload", on_items=True)))
    async with liar.client() as client:
        doc = await first_hit(client, sandbox)
        with pytest.raises(RefusedAnswerError, match="not to the configured server"):
            await client.download(doc, tmp_path / "doc.pdf")
    assert liar.elsewhere() == []
    assert not (tmp_path / "doc.pdf").exists()


async def test_a_next_link_to_another_scheme_or_port_is_refused(sandbox):
    for other in ("https://sandbox.test", "http://sandbox.test:8080", ELSEWHERE):

        def change(body: dict[str, Any], other: str = other) -> None:
            body["Count"] = {"Value": 100, "HasMore": False}
            body["Links"] = [{"rel": "next", "href": other + "/DocuWare/Platform/Results/2"}]

        liar = Liar(sandbox, search_answer(change))
        async with liar.client() as client:
            with pytest.raises(RefusedAnswerError, match=f"to {other}, not to"):
                await first_hit(client, sandbox)
        assert liar.elsewhere() == [], other


async def test_an_absolute_link_to_the_configured_server_is_followed(sandbox, tmp_path):
    def absolute(body: dict[str, Any]) -> None:
        for item in body["Items"]:
            for link in item["Links"]:
                link["href"] = URL + link["href"]

    liar = Liar(sandbox, search_answer(absolute))
    async with liar.client() as client:
        doc = await first_hit(client, sandbox)
        result = await client.download(doc, tmp_path / "doc.pdf")
    assert result.size > 0


async def test_a_search_page_over_max_json_mb_fails_with_its_size(sandbox):
    def padded(body: dict[str, Any]) -> None:
        body["Padding"] = "x" * (3 * MB)

    liar = Liar(sandbox, search_answer(padded))
    async with liar.client(max_json_mb=1) as client:
        with pytest.raises(RefusedAnswerError, match=r"answered 3.0 MB for a search page, over"):
            await first_hit(client, sandbox)


def endless(declared: int, has_more: bool = False, padding: int = 0) -> Rewrite:
    """Every search page (the sandbox's first) declares `declared` hits and links a next."""
    first: dict[str, Any] = {}

    def rewrite(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if "/Query/" not in request.url.path:
            return response
        body = first or json_of(response)
        body["Count"] = {"Value": declared, "HasMore": has_more}
        body["Links"] = [{"rel": "next", "href": "/DocuWare/Platform/FileCabinets/x/Query/R"}]
        body["Padding"] = "x" * padding
        first.update(body)
        return httpx.Response(200, json=body)

    return rewrite


async def pages_read(liar: Liar, sandbox: InProcessSandbox) -> int:
    """Search pages the client asked for before it stopped (the key has one hit a page)."""
    key = sandbox.catalogue.invoice_numbers_with_hits(1)[0]
    async with liar.client() as client:
        found = client.search("Invoices", Exact("INVOICE_NO", key), max_pages=5)
        hits = [doc async for doc in found]
    assert len(hits) == len([r for r in liar.sent if "/Query/" in r.url.path])
    return len(hits)


async def test_a_search_stops_once_it_has_the_hits_it_declared(sandbox):
    assert await pages_read(Liar(sandbox, endless(3)), sandbox) == 3


@pytest.mark.parametrize(
    ("declared", "has_more", "pages", "sentence"),
    [
        (10_000_000, False, 1, "more than 5 result pages of 1 for the 10,000,000 hits it declared"),
        (3, True, 5, "more than 5 result pages of 1 for one search"),
    ],
)
async def test_a_search_needing_more_pages_than_its_cap_fails(
    sandbox, declared, has_more, pages, sentence
):
    liar = Liar(sandbox, endless(declared, has_more))
    with pytest.raises(RefusedAnswerError, match=sentence):
        await pages_read(liar, sandbox)
    assert len([r for r in liar.sent if "/Query/" in r.url.path]) == pages


def download_answer(body: bytes, **headers: str) -> Rewrite:
    def rewrite(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if not request.url.path.endswith("/FileDownload"):
            return response
        named = {"Content-Type": "application/pdf", **headers}
        return httpx.Response(200, content=body, headers=named)

    return rewrite


async def test_a_download_far_beyond_its_declared_size_is_cut(sandbox, tmp_path):
    liar = Liar(sandbox, download_answer(bytes(17 * MB)))
    async with liar.client() as client:
        doc = replace(await first_hit(client, sandbox), file_size=900)
        with pytest.raises(RefusedAnswerError, match="declared as 900 bytes; it was cut"):
            await client.download(doc, tmp_path / "doc.pdf")
    assert not (tmp_path / "doc.pdf").exists()


async def test_a_download_over_max_document_mb_is_cut(sandbox, tmp_path):
    liar = Liar(sandbox, download_answer(bytes(2 * MB)))
    async with liar.client() as client:
        doc = replace(await first_hit(client, sandbox), file_size=0)
        with pytest.raises(RefusedAnswerError, match=r"over \[jobs\] max_document_mb = 1;"):
            await client.download(doc, tmp_path / "doc.pdf", max_mb=1)


async def test_a_search_holds_at_most_max_json_mb_over_all_its_pages(sandbox):
    liar = Liar(sandbox, endless(3, has_more=True, padding=MB * 6 // 10))
    key = sandbox.catalogue.invoice_numbers_with_hits(1)[0]
    async with liar.client(max_json_mb=1) as client:
        found = client.search("Invoices", Exact("INVOICE_NO", key))
        with pytest.raises(RefusedAnswerError, match=r"answered 1.2 MB in 2 result pages of one"):
            _ = [doc async for doc in found]
    assert len([r for r in liar.sent if "/Query/" in r.url.path]) == 2
