"""Sandbox conformance: service description, organizations, cabinets, dialogs, documents, errors."""

from __future__ import annotations

import re

import httpx

from exmado_tui.sandbox import SandboxServer

P = "/DocuWare/Platform"
DATE = re.compile(r"^/Date\(-?\d+\)/$")
ERROR_KEYS = {"Message", "Uri", "Method", "StatusCode", "Status", "InternalCode"}


def rel(obj: dict, name: str) -> str:
    return next(link["href"] for link in obj["Links"] if link["rel"] == name)


def invoices(client: httpx.Client) -> dict:
    cabinets = client.get(f"{P}/FileCabinets").json()["FileCabinet"]
    return next(c for c in cabinets if c["Name"] == "Invoices")


def test_service_description_is_anonymous(sandbox: SandboxServer) -> None:
    body = httpx.get(f"{sandbox.url}{P}", headers={"Accept": "application/json"}).json()
    assert body["Version"] == "7.10.0.0"
    assert any(link["rel"] == "organizations" for link in body["Links"])
    assert any(r["Name"] == "documentsFileDownload" for r in body["Resources"])


def test_follow_links_from_organization_to_search_dialog(sandbox_client: httpx.Client) -> None:
    orgs = sandbox_client.get(f"{P}/Organizations").json()["Organization"]
    assert len(orgs) == 1 and {"Id", "Name", "Guid"} <= set(orgs[0])
    listing = sandbox_client.get(rel(orgs[0], "filecabinets")).json()["FileCabinet"]
    baskets = [c for c in listing if c["IsBasket"]]
    cabinets = [c for c in listing if not c["IsBasket"]]
    assert baskets and all(b["Id"].startswith("b_") and b["AssignedCabinetId"] for b in baskets)
    assert {c["Name"] for c in cabinets} == {"Invoices", "Personnel"}
    cab = next(c for c in cabinets if c["Name"] == "Invoices")
    dialogs = sandbox_client.get(rel(cab, "searches")).json()["Dialog"]
    assert dialogs and all(d["Type"] == "Search" and d["$type"] == "DialogInfo" for d in dialogs)
    default = next(d for d in dialogs if d["IsDefault"])
    full = sandbox_client.get(rel(default, "self")).json()
    assert {f["DBFieldName"] for f in full["Fields"]} >= {"INVOICE_NO", "SUPPLIER", "DOC_DATE"}
    expression = rel(full["Query"], "dialogExpression")
    assert expression.startswith(f"{P}/FileCabinets/{cab['Id']}/Query/DialogExpression?dialogId=")


def test_all_dialogs_include_other_types(sandbox_client: httpx.Client) -> None:
    cab = invoices(sandbox_client)
    types = {d["Type"] for d in sandbox_client.get(rel(cab, "dialogs")).json()["Dialog"]}
    assert {"Search", "Store", "ResultList"} <= types


def test_cabinet_description_has_typed_fields(sandbox_client: httpx.Client) -> None:
    cab = sandbox_client.get(rel(invoices(sandbox_client), "self")).json()
    types = {f["DBFieldName"]: f["DWFieldType"] for f in cab["Fields"]}
    assert types["INVOICE_NO"] == "Text" and types["DOC_DATE"] == "Date"
    assert types["AMOUNT"] == "Decimal" and types["NOTES"] == "Memo"
    assert types["TAGS"] == "Keyword" and types["DWDOCID"] == "Numeric"


def test_full_document_shape(sandbox: SandboxServer, sandbox_client: httpx.Client) -> None:
    doc = sandbox.catalogue.multi_section_documents(1)[0]
    body = sandbox_client.get(f"{P}/FileCabinets/{doc.cabinet_id}/Documents/{doc.id}").json()
    assert body["Id"] == doc.id and body["Title"] == doc.title
    assert DATE.match(body["CreatedAt"]) and DATE.match(body["LastModified"])
    assert body["SectionCount"] == len(body["Sections"]) == len(doc.sections) > 1
    assert body["FileSize"] == sum(s["FileSize"] for s in body["Sections"])
    fields = {f["FieldName"]: f for f in body["Fields"]}
    assert fields["INVOICE_NO"]["ItemElementName"] == "String"
    assert fields["INVOICE_NO"]["Item"] == doc.values["INVOICE_NO"]
    assert fields["AMOUNT"]["ItemElementName"] == "Decimal"
    assert isinstance(fields["AMOUNT"]["Item"], float)
    assert fields["DOC_DATE"]["ItemElementName"] == "Date"
    assert fields["DOC_DATE"]["Item"] == f"/Date({doc.values['DOC_DATE']})/"
    assert fields["DWDOCID"]["SystemField"] and fields["DWDOCID"]["Item"] == doc.id
    assert fields["DWSTOREDATETIME"]["ItemElementName"] == "DateTime"
    for rel_name in ("self", "fileDownload", "fields", "sections"):
        assert rel(body, rel_name)


def test_empty_values_keywords_and_memo(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    cab = invoices(sandbox_client)["Id"]
    empty = sandbox_client.get(f"{P}/FileCabinets/{cab}/Documents/50").json()
    status = next(f for f in empty["Fields"] if f["FieldName"] == "STATUS")
    assert status["IsNull"] is True and status["Item"] is None
    tagged = next(d for d in sandbox.catalogue.documents(cab) if d.values["TAGS"])
    body = sandbox_client.get(f"{P}/FileCabinets/{cab}/Documents/{tagged.id}").json()
    tags = next(f for f in body["Fields"] if f["FieldName"] == "TAGS")
    assert tags["ItemElementName"] == "Keywords"
    assert tags["Item"]["Keyword"] == tagged.values["TAGS"]
    memo = sandbox_client.get(f"{P}/FileCabinets/{cab}/Documents/107").json()
    notes = next(f for f in memo["Fields"] if f["FieldName"] == "NOTES")
    assert notes["ItemElementName"] == "Memo" and len(notes["Item"]) > 5000


def test_personnel_numbers_keep_leading_zeros(sandbox_client: httpx.Client) -> None:
    cabinets = sandbox_client.get(f"{P}/FileCabinets").json()["FileCabinet"]
    personnel = next(c for c in cabinets if c["Name"] == "Personnel")
    body = sandbox_client.get(f"{P}/FileCabinets/{personnel['Id']}/Documents/1").json()
    number = next(f for f in body["Fields"] if f["FieldName"] == "EMPLOYEE_NO")
    assert number["ItemElementName"] == "String" and number["Item"] == "000001"


def test_not_found_bodies(sandbox_client: httpx.Client) -> None:
    cab = invoices(sandbox_client)["Id"]
    for url in (
        f"{P}/FileCabinets/{cab}/Documents/99999999",
        f"{P}/FileCabinets/00000000-1111-2222-3333-444444444444",
        f"{P}/FileCabinets/{cab}/Dialogs/nope",
        f"{P}/NoSuchThing",
    ):
        response = sandbox_client.get(url)
        assert response.status_code == 404, url
        body = response.json()
        assert set(body) >= ERROR_KEYS and body["StatusCode"] == 404
        assert body["Status"] == "NotFound" and body["Method"] == "GET"
        assert body["Uri"] == url


def test_wrong_method_is_405(sandbox_client: httpx.Client) -> None:
    response = sandbox_client.delete(f"{P}/Organizations")
    assert response.status_code == 405 and response.json()["StatusCode"] == 405


def test_update_fields_round_trip(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory()
    headers = {"Authorization": f"Bearer {sandbox_login(server.url)}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        cab = invoices(client)["Id"]
        url = f"{P}/FileCabinets/{cab}/Documents/3/Fields"
        answer = client.put(
            url,
            json={
                "Field": [
                    {"FieldName": "STATUS", "Item": "Archived", "ItemElementName": "String"},
                    {"FieldName": "DOC_DATE", "Item": "2024-01-31", "ItemElementName": "String"},
                    {
                        "FieldName": "TAGS",
                        "Item": {"Keyword": ["a", "b"]},
                        "ItemElementName": "Keywords",
                    },
                ]
            },
        )
        assert answer.status_code == 200
        fields = {f["FieldName"]: f["Item"] for f in answer.json()["Field"]}
        assert fields["STATUS"] == "Archived" and fields["DOC_DATE"] == "/Date(1706659200000)/"
        assert fields["TAGS"]["Keyword"] == ["a", "b"]
        again = client.get(f"{P}/FileCabinets/{cab}/Documents/3").json()
        assert any(f["FieldName"] == "STATUS" and f["Item"] == "Archived" for f in again["Fields"])
        refused = client.put(url, json={"Field": [{"FieldName": "DWDOCID", "Item": 5}]})
        assert refused.status_code == 422
        unknown = client.put(url, json={"Field": [{"FieldName": "NOPE", "Item": "x"}]})
        assert unknown.status_code == 422
