"""Navigation by links, dialog choice, search paging, batched keys and errors, against the
sandbox's own request handler in-process (`tests.docuware_inprocess`), not a hand-written fake."""

import json

import httpx
import pytest

from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.errors import BadRequestError, NotFoundError
from exmado_tui.docuware.query import Exact, Or, Range
from tests.docuware_inprocess import InProcessSandbox

P = "/DocuWare/Platform"


@pytest.fixture
def sandbox() -> InProcessSandbox:
    return InProcessSandbox()


def paths(sandbox: InProcessSandbox) -> list[str]:
    return [r.path for r in sandbox.requests]


def searches(sandbox: InProcessSandbox) -> list:
    """The search requests (POSTs of a dialog expression) the client sent, in order."""
    return [r for r in sandbox.requests if r.path.endswith("/Query/DialogExpression")]


async def test_cabinets_follow_organization_link_and_hide_baskets(sandbox):
    async with sandbox.client() as client:
        assert [c.name for c in await client.file_cabinets()] == ["Invoices", "Personnel"]
        with_baskets = await client.file_cabinets(include_baskets=True)
        assert [c.name for c in with_baskets] == ["Invoices", "Personnel", "Inbox"]
        invoices = await client.find_cabinet("invoices")
        assert invoices.name == "Invoices"
        assert (await client.find_cabinet(invoices.id)).name == "Invoices"
        with pytest.raises(NotFoundError, match="cabinets: Invoices, Personnel"):
            await client.find_cabinet("Payroll")
    assert paths(sandbox).count(f"{P}/FileCabinets") == 1  # the list is kept


async def test_the_default_dialog_skips_mobile_copies_and_other_dialog_types(sandbox):
    async with sandbox.client() as client:
        infos = await client.search_dialogs("Invoices")
        assert [d.name for d in infos] == ["Invoice search", "Supplier search", "Custom search"]
        dialog = await client.dialog("Invoices")
        assert dialog.name == "Invoice search"
        assert dialog.expression_href.endswith(f"/Query/DialogExpression?dialogId={dialog.id}")
        assert dialog.field("supplier").db_name == "SUPPLIER"
        other = next(d for d in infos if d.name == "Supplier search")
        assert (await client.dialog("Invoices", other.id)).name == "Supplier search"
        await client.dialog("Invoices")
    assert paths(sandbox).count(f"{P}/FileCabinets/{dialog.cabinet_id}/Dialogs/{dialog.id}") == 1


async def test_cabinet_fields_from_description(sandbox):
    async with sandbox.client() as client:
        fields = {f.db_name: (f.label, f.type) for f in await client.cabinet_fields("Invoices")}
    assert fields["SUPPLIER"] == ("Supplier", "Text")
    assert fields["INVOICE_NO"][1] == "Text" and fields["DOC_DATE"] == ("Document date", "Date")


async def test_search_follows_next_links_to_the_end(sandbox):
    async with sandbox.client() as client:
        docs = [d async for d in client.search("Invoices", page_size=3, limit=7)]
    assert [d.id for d in docs] == [1, 2, 3, 4, 5, 6, 7]
    post = searches(sandbox)[0]
    assert post.query["count"] == "3" and post.query["dialogid"]
    assert post.headers["content-type"] == "application/json"
    assert len(sandbox.requests) - sandbox.requests.index(post) - 1 == 2  # two next pages


async def test_search_limit_stops_early(sandbox):
    async with sandbox.client() as client:
        docs = [d async for d in client.search("Invoices", page_size=3, limit=4)]
    assert [d.id for d in docs] == [1, 2, 3, 4]
    post = searches(sandbox)[0]
    assert len(sandbox.requests) - sandbox.requests.index(post) - 1 == 1  # one next page


async def test_page_size_above_10000_is_clamped(sandbox):
    async with sandbox.client() as client:
        docs = [d async for d in client.search("Invoices", page_size=50_000)]
    assert len(docs) == len(sandbox.catalogue.documents("Invoices"))
    assert json.loads(searches(sandbox)[0].body)["Count"] == 10_000  # DocuWare's 422 above


async def test_search_body_conditions_fields_and_sort(sandbox):
    key = sandbox.catalogue.invoice_numbers_with_hits(1)[0]
    supplier = sandbox.catalogue.documents_for("INVOICE_NO", key)[0].values["SUPPLIER"]
    async with sandbox.client() as client:
        query = Or(Exact("SUPPLIER", supplier), Range("DOC_DATE", None, "1990-12-31"))
        docs = [
            d
            async for d in client.search(
                "Invoices", query, fields=["SUPPLIER", "AMOUNT"], sort=["DOC_DATE desc"]
            )
        ]
    assert docs and {d.get_text("SUPPLIER") for d in docs} == {supplier}
    post = searches(sandbox)[0]
    body = json.loads(post.body)
    assert body["Operation"] == "Or"
    assert body["Condition"][1] == {"DBName": "DOC_DATE", "Value": [None, "1990-12-31"]}
    assert body["SortOrder"] == [{"Field": "DOC_DATE", "Direction": "Desc"}]
    assert post.query["fields"] == "SUPPLIER,AMOUNT"


async def test_search_keys_batches_with_or_and_attributes_hits(sandbox):
    keys = sandbox.catalogue.invoice_numbers_with_hits(3)
    missing = sandbox.catalogue.missing_invoice_numbers(1)
    async with sandbox.client() as client:
        hits = await client.search_keys("Invoices", "INVOICE_NO", [*keys, *missing], batch_size=2)
    expected = {k: [d.id for d in sandbox.catalogue.documents_for("INVOICE_NO", k)] for k in keys}
    assert {k: [d.id for d in v] for k, v in hits.items()} == {**expected, missing[0]: []}
    bodies = [json.loads(r.body) for r in searches(sandbox)]
    assert [(b["Operation"], len(b["Condition"])) for b in bodies] == [("Or", 2), ("Or", 2)]


async def test_not_found_names_path_and_message(sandbox):
    async with sandbox.client() as client:
        with pytest.raises(NotFoundError) as info:
            await client.get_document("Invoices", 99_999)
        assert (await client.get_document("Invoices", 3)).id == 3
    assert str(info.value).startswith(f"DocuWare answered 404 for {P}/FileCabinets/")
    assert str(info.value).endswith(
        "/Documents/99999: Document 99999 not found in file cabinet 'Invoices'."
    )
    assert not info.value.retryable


async def test_422_is_bad_request_with_message(sandbox):
    async with sandbox.client() as client:
        with pytest.raises(BadRequestError, match=r"422 .*NO_SUCH_FIELD"):
            [d async for d in client.search("Invoices", {"NO_SUCH_FIELD": "x"})]


async def test_redirect_to_a_login_page_names_where_it_leads(sandbox):
    """DocuWare answers 401, not a redirect; a redirect means a proxy/SSO page or http→https."""

    def proxy(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"{P}/Organizations":
            return httpx.Response(302, headers={"Location": "https://sso.test/login?x=1"})
        return sandbox.answer(request)

    settings = sandbox.settings()
    async with AsyncDocuWareClient(settings, transport=httpx.MockTransport(proxy)) as client:
        with pytest.raises(Exception) as info:
            await client.file_cabinets()
    assert "redirected to https://sso.test/login" in str(info.value)
    assert "x=1" not in str(info.value)


async def test_a_download_link_is_joined_to_a_server_address_with_a_path(sandbox, tmp_path):
    """DocuWare links a download from the server's root; behind a gateway's path the request
    goes under that path, with the download's options as its query (`Connection._target`
    joins it to the address itself, parsing it once)."""
    sent: list[httpx.URL] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        sent.append(request.url)
        path = request.url.raw_path.removeprefix(b"/gateway")
        inner = httpx.Request(
            request.method, request.url.copy_with(raw_path=path), headers=request.headers,
            content=request.read(),
        )  # fmt: skip
        return sandbox.answer(inner)

    settings = sandbox.settings(url="http://sandbox.test/gateway")
    async with AsyncDocuWareClient(settings, transport=httpx.MockTransport(gateway)) as client:
        [document] = [d async for d in client.search("Invoices", limit=1)]
        await client.download(document, tmp_path / "one", target="PDF", fsync=False)
    url = sent[-1]
    assert (url.scheme, url.host, url.path) == ("http", "sandbox.test", "/gateway" + (
        f"{P}/FileCabinets/{document.ref.cabinet_id}/Documents/{document.id}/FileDownload"
    ))  # fmt: skip
    assert dict(url.params) == {"targetFileType": "PDF", "keepAnnotations": "false"}
