"""Navigation by links, dialog choice, search paging, batched keys, errors, via MockTransport."""

import asyncio
import json
from dataclasses import replace

import httpx
import pytest

from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.errors import BadRequestError, NotFoundError
from exmado_tui.docuware.query import Exact, Or, Range
from exmado_tui.docuware.retry import RetryPolicy
from exmado_tui.settings import DocuWareSettings, Secret

SETTINGS = DocuWareSettings(url="http://dw.test", username="u", password=Secret("p"), auth="cookie")
P = "/DocuWare/Platform"
FC = "fc-1"


def item(doc_id: int, supplier: str) -> dict:
    return {
        "Id": doc_id,
        "FileCabinetId": FC,
        "Title": f"Doc {doc_id}",
        "ContentType": "application/pdf",
        "FileSize": 100,
        "SectionCount": 1,
        "Fields": [
            {"FieldName": "INVOICE_NO", "ItemElementName": "String", "Item": str(doc_id)},
            {"FieldName": "SUPPLIER", "ItemElementName": "String", "Item": supplier},
        ],
        "Links": [{"rel": "self", "href": f"{P}/FileCabinets/{FC}/Documents/{doc_id}"}],
    }


class FakeDocuWare:
    """Cabinets, dialogs and a search with `next` links; records each request."""

    def __init__(self, documents: int = 7) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[dict] = []
        self.docs = [item(i, "ACME" if i % 2 else "Globex") for i in range(1, documents + 1)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, q = request.url.path, request.url.params
        if path == f"{P}/Account/Logon":
            return httpx.Response(200, json={}, headers={"Set-Cookie": ".DWPLATFORMAUTH=x; Path=/"})
        if path == f"{P}/Account/Logoff":
            return httpx.Response(200)
        if path == f"{P}/Organizations":
            return httpx.Response(
                200,
                json={
                    "Organization": [
                        {
                            "Id": "1",
                            "Name": "Acme",
                            "Links": [{"rel": "filecabinets", "href": f"{P}/Orgs/1/Cabinets"}],
                        }
                    ]
                },
            )
        if path == f"{P}/Orgs/1/Cabinets":
            return httpx.Response(
                200,
                json={
                    "FileCabinet": [
                        {
                            "Id": FC,
                            "Name": "Invoices",
                            "IsBasket": False,
                            "Links": [
                                {"rel": "self", "href": f"{P}/FileCabinets/{FC}"},
                                {
                                    "rel": "searches",
                                    "href": f"{P}/FileCabinets/{FC}/Dialogs?dialogType=Search",
                                },
                            ],
                        },
                        {"Id": "b_1", "Name": "Inbox", "IsBasket": True, "Links": []},
                    ]
                },
            )
        if path == f"{P}/FileCabinets/{FC}":
            return httpx.Response(
                200,
                json={
                    "Id": FC,
                    "Name": "Invoices",
                    "Fields": [
                        {
                            "DBFieldName": "SUPPLIER",
                            "DisplayName": "Supplier",
                            "DWFieldType": "Text",
                        }
                    ],
                },
            )
        if path == f"{P}/FileCabinets/{FC}/Dialogs":
            assert q["dialogType"] == "Search"
            return httpx.Response(
                200,
                json={
                    "Dialog": [
                        {
                            "$type": "DialogInfo",
                            "Id": "i_mobile",
                            "Type": "Search",
                            "IsDefault": True,
                        },
                        {
                            "$type": "DialogInfo",
                            "Id": "d-plain",
                            "Type": "Search",
                            "DisplayName": "Plain",
                        },
                        {
                            "$type": "DialogInfo",
                            "Id": "d-default",
                            "Type": "Search",
                            "IsDefault": True,
                            "DisplayName": "Main",
                            "Links": [{"rel": "self", "href": f"{P}/Dlg/d-default"}],
                        },
                        {"$type": "DialogInfo", "Id": "d-store", "Type": "Store"},
                    ]
                },
            )
        if path.startswith(f"{P}/Dlg/") or path.startswith(f"{P}/FileCabinets/{FC}/Dialogs/"):
            dialog_id = path.rsplit("/", 1)[1]
            return httpx.Response(
                200,
                json={
                    "Id": dialog_id,
                    "DisplayName": "Main",
                    "Fields": [
                        {"DBFieldName": "SUPPLIER", "DlgLabel": "Supplier", "DWFieldType": "Text"},
                        {
                            "DBFieldName": "INVOICE_NO",
                            "DlgLabel": "Invoice no",
                            "DWFieldType": "Text",
                        },
                    ],
                    "Query": {
                        "Links": [
                            {
                                "rel": "dialogExpression",
                                "href": f"{P}/Search/{dialog_id}?dialogId={dialog_id}",
                            }
                        ]
                    },
                },
            )
        if path.startswith(f"{P}/Search/"):
            body = json.loads(request.content)
            self.bodies.append(body)
            if body.get("Count", 0) > 10_000 or int(q.get("count", 0)) > 10_000:
                return httpx.Response(
                    422,
                    json={
                        "Message": "The requested search result count "
                        "exceeds the system limit of 10000 per request."
                    },
                )
            return self.page(self.matching(body), 0, int(q["count"]))
        if path == f"{P}/Results":
            docs = self.matching(self.bodies[-1])
            return self.page(docs, int(q["start"]), int(q["count"]))
        if path == f"{P}/FileCabinets/{FC}/Documents/999":
            return httpx.Response(404, json={"Message": "Document 999 not found."})
        if path == f"{P}/FileCabinets/{FC}/Documents/3":
            return httpx.Response(200, json=self.docs[2])
        return httpx.Response(404, json={"Message": f"no route {path}"})

    def matching(self, body: dict) -> list[dict]:
        values = [(c["DBName"], c["Value"][0]) for c in body["Condition"]]
        if not values:
            return self.docs
        return [
            d
            for d in self.docs
            if any(f["FieldName"] == n and f["Item"] == v for f in d["Fields"] for n, v in values)
        ]

    def page(self, docs: list[dict], start: int, count: int) -> httpx.Response:
        links = []
        if start + count < len(docs):
            href = f"{P}/Results?start={start + count}&count={count}"
            links.append({"rel": "next", "href": href})
        return httpx.Response(
            200,
            json={
                "Count": {"Value": len(docs)},
                "Items": docs[start : start + count],
                "Links": links,
            },
        )


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def client_for(server, **changes) -> AsyncDocuWareClient:
    return AsyncDocuWareClient(
        replace(SETTINGS, **changes),
        transport=httpx.MockTransport(server),
        retry=RetryPolicy(max_attempts=2, backoff_base_s=0.001),
        sleep=no_sleep,
    )


async def test_cabinets_follow_organization_link_and_hide_baskets():
    server = FakeDocuWare()
    async with client_for(server) as client:
        assert [c.name for c in await client.file_cabinets()] == ["Invoices"]
        assert [c.name for c in await client.file_cabinets(include_baskets=True)] == [
            "Invoices",
            "Inbox",
        ]
        assert (await client.find_cabinet("invoices")).id == FC
        assert (await client.find_cabinet(FC)).name == "Invoices"
        with pytest.raises(NotFoundError, match="cabinets: Invoices"):
            await client.find_cabinet("Payroll")
    paths = [r.url.path for r in server.requests]
    assert paths.count(f"{P}/Orgs/1/Cabinets") == 1  # cached


async def test_default_dialog_skips_underscore_ids_and_non_search():
    server = FakeDocuWare()
    async with client_for(server) as client:
        infos = await client.search_dialogs("Invoices")
        assert [d.id for d in infos] == ["d-plain", "d-default"]
        dialog = await client.dialog("Invoices")
        assert dialog.id == "d-default"
        assert dialog.expression_href == f"{P}/Search/d-default?dialogId=d-default"
        assert dialog.field("supplier").db_name == "SUPPLIER"
        assert (await client.dialog("Invoices", "d-plain")).id == "d-plain"
        await client.dialog("Invoices")
    dialog_gets = [r for r in server.requests if r.url.path == f"{P}/Dlg/d-default"]
    assert len(dialog_gets) == 1  # cached


async def test_cabinet_fields_from_description():
    async with client_for(FakeDocuWare()) as client:
        fields = await client.cabinet_fields("Invoices")
    assert [(f.db_name, f.label, f.type) for f in fields] == [("SUPPLIER", "Supplier", "Text")]


async def test_search_follows_next_links_to_the_end():
    server = FakeDocuWare(documents=7)
    async with client_for(server) as client:
        docs = [d async for d in client.search("Invoices", page_size=3)]
    assert [d.id for d in docs] == [1, 2, 3, 4, 5, 6, 7]
    assert [r.url.path for r in server.requests].count(f"{P}/Results") == 2
    post = next(r for r in server.requests if "/Search/" in r.url.path)
    assert post.url.params["dialogId"] == "d-default" and post.url.params["count"] == "3"
    assert post.headers["Content-Type"] == "application/json"


async def test_search_limit_stops_early():
    server = FakeDocuWare(documents=7)
    async with client_for(server) as client:
        docs = [d async for d in client.search("Invoices", page_size=3, limit=4)]
    assert [d.id for d in docs] == [1, 2, 3, 4]
    assert [r.url.path for r in server.requests].count(f"{P}/Results") == 1


async def test_page_size_above_10000_is_clamped():
    server = FakeDocuWare()
    async with client_for(server) as client:
        docs = [d async for d in client.search("Invoices", page_size=50_000)]
    assert len(docs) == 7
    assert server.bodies[0]["Count"] == 10_000


async def test_search_body_conditions_fields_and_sort():
    server = FakeDocuWare()
    async with client_for(server) as client:
        query = Or(Exact("SUPPLIER", "ACME"), Range("DOC_DATE", None, "2024-12-31"))
        docs = [
            d
            async for d in client.search(
                "Invoices", query, fields=["SUPPLIER", "AMOUNT"], sort=["DOC_DATE desc"]
            )
        ]
    assert {d.get_text("SUPPLIER") for d in docs} == {"ACME"}
    body = server.bodies[0]
    assert body["Operation"] == "Or"
    assert body["Condition"][1] == {"DBName": "DOC_DATE", "Value": [None, "2024-12-31"]}
    assert body["SortOrder"] == [{"Field": "DOC_DATE", "Direction": "Desc"}]
    post = next(r for r in server.requests if "/Search/" in r.url.path)
    assert post.url.params["fields"] == "SUPPLIER,AMOUNT"


async def test_search_keys_batches_with_or_and_attributes_hits():
    server = FakeDocuWare(documents=7)
    async with client_for(server) as client:
        hits = await client.search_keys(
            "Invoices", "INVOICE_NO", ["2", "5", "6", "404"], batch_size=2
        )
    assert {k: [d.id for d in v] for k, v in hits.items()} == {
        "2": [2],
        "5": [5],
        "6": [6],
        "404": [],
    }
    assert len(server.bodies) == 2
    assert all(b["Operation"] == "Or" for b in server.bodies)
    assert [len(b["Condition"]) for b in server.bodies] == [2, 2]


async def test_not_found_names_path_and_message():
    async with client_for(FakeDocuWare()) as client:
        with pytest.raises(NotFoundError) as info:
            await client.get_document("Invoices", 999)
        assert (await client.get_document("Invoices", 3)).id == 3
    assert str(info.value) == (
        f"DocuWare answered 404 for {P}/FileCabinets/{FC}/Documents/999: Document 999 not found."
    )
    assert not info.value.retryable


async def test_422_is_bad_request_with_message():
    def handler(request):
        if request.method == "POST" and "Search" in request.url.path:
            return httpx.Response(422, json={"Message": "Invalid value 'a(b'."})
        return FakeDocuWare()(request)

    async with client_for(handler) as client:
        with pytest.raises(BadRequestError, match=r"422 .*Invalid value 'a\(b'"):
            [d async for d in client.search("Invoices", {"SUPPLIER": "x"})]


async def test_redirect_to_a_login_page_names_where_it_leads():
    """DocuWare answers 401, not a redirect; a redirect means a proxy/SSO page or http→https."""

    def handler(request):
        if request.url.path == f"{P}/Organizations":
            return httpx.Response(302, headers={"Location": "https://sso.test/login?x=1"})
        return FakeDocuWare()(request)

    async with client_for(handler) as client:
        with pytest.raises(Exception) as info:
            await client.file_cabinets()
    assert "redirected to https://sso.test/login" in str(info.value)
    assert "x=1" not in str(info.value)
