"""The DocuWare port the pipeline uses, one contract for every way tests reach DocuWare.

The pipeline needs five things of DocuWare: find the cabinet, read its search dialog, search
(exact values, Or groups, a limit), download a document, close. The same tests run against
- `http`: the real client over HTTP to the sandbox server,
- `in-process`: the real client through the sandbox's own handler (`tests.docuware_inprocess`),
- `fake`: the pipeline tests' `FakeClient`, given the documents the real client found,
so the fake the pipeline tests stand on cannot drift from what the client really does.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.query import Exact, Or
from exmado_tui.sandbox import SandboxConfig, SandboxServer
from tests.docuware_inprocess import InProcessSandbox
from tests.pipeline_harness import FakeClient, FakeDoc

CONFIG = SandboxConfig(port=0, documents=200, seed=7)
InProcess = InProcessSandbox(CONFIG)
KEYS = InProcess.catalogue.invoice_numbers_with_hits(3)
SEVERAL = InProcess.catalogue.invoice_numbers_with_several_hits()[0]
MISSING = InProcess.catalogue.missing_invoice_numbers(1)[0]


@pytest.fixture(scope="module")
def server() -> Any:
    with SandboxServer(CONFIG) as running:
        yield running


@pytest.fixture(params=["http", "in-process", "fake"])
async def port(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "http":
        client: Any = AsyncDocuWareClient(
            InProcess.settings(url=request.getfixturevalue("server").url)
        )
    elif request.param == "in-process":
        client = InProcessSandbox(CONFIG).client()
    else:
        client = FakeClient(await documents_as_the_client_finds_them(tmp_path))
    try:
        yield client
    finally:
        await client.aclose()


async def documents_as_the_client_finds_them(folder: Path) -> list[FakeDoc]:
    """The documents of KEYS and SEVERAL as the real client reads them, with their bytes."""
    docs = []
    async with InProcessSandbox(CONFIG).client() as client:
        async for doc in client.search(
            "Invoices", Or(*(Exact("INVOICE_NO", k) for k in [*KEYS, SEVERAL]))
        ):
            body = await client.download(doc, folder / f"{doc.id}.bin", target="PDF")
            docs.append(FakeDoc(doc.id, dict(doc.fields), doc.cabinet_id, body.path.read_bytes()))
    return docs


async def ids(port: Any, query: Any, **options: Any) -> list[int]:
    cabinet = await port.find_cabinet("Invoices")
    return sorted([doc.id async for doc in port.search(cabinet, query, **options)])


async def test_the_dialog_resolves_a_field_in_any_case(port: Any) -> None:
    dialog = await port.dialog(await port.find_cabinet("Invoices"))
    assert dialog.field("invoice_no").db_name == "INVOICE_NO"
    assert dialog.field("SUPPLIER").db_name == "SUPPLIER"
    assert dialog.field("NO_SUCH_FIELD") is None


async def test_an_exact_search_finds_the_document_with_typed_fields(port: Any) -> None:
    cabinet = await port.find_cabinet("Invoices")
    found = [doc async for doc in port.search(cabinet, Exact("INVOICE_NO", KEYS[0]))]
    expected = InProcess.catalogue.documents_for("INVOICE_NO", KEYS[0])
    assert [doc.id for doc in found] == [d.id for d in expected]
    assert found[0].fields["INVOICE_NO"] == KEYS[0] and found[0].cabinet_id
    assert isinstance(found[0].fields["DOC_DATE"], date)


async def test_an_or_search_finds_every_key_and_a_missing_key_nothing(port: Any) -> None:
    wanted = sorted(d.id for k in KEYS for d in InProcess.catalogue.documents_for("INVOICE_NO", k))
    assert await ids(port, Or(*(Exact("INVOICE_NO", k) for k in [*KEYS, MISSING]))) == wanted
    assert await ids(port, Exact("INVOICE_NO", MISSING)) == []


async def test_a_limit_caps_a_key_with_several_documents(port: Any) -> None:
    assert len(await ids(port, Exact("INVOICE_NO", SEVERAL))) >= 2
    assert len(await ids(port, Exact("INVOICE_NO", SEVERAL), limit=1)) == 1


async def test_a_download_writes_the_bytes_it_reports(port: Any, tmp_path: Path) -> None:
    cabinet = await port.find_cabinet("Invoices")
    doc = [d async for d in port.search(cabinet, Exact("INVOICE_NO", KEYS[1]))][0]
    dest = tmp_path / "document.part"
    result = await port.download(doc, dest, target="PDF", keep_annotations=False)
    body = dest.read_bytes()
    assert result.path == dest and result.size == len(body) > 0
    assert result.sha256 == hashlib.sha256(body).hexdigest()
