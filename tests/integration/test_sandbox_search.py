"""Sandbox conformance: dialog-expression search semantics, paging, links, counting, 422s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from exmado_tui.sandbox import SandboxServer
from exmado_tui.sandbox.schema import Document
from tests.sandbox_login import signed_in_client

P = "/DocuWare/Platform"


@pytest.fixture(scope="module")
def client(sandbox: SandboxServer) -> httpx.Client:
    with signed_in_client(sandbox.url) as c:
        yield c


@pytest.fixture(scope="module")
def expression(client: httpx.Client) -> str:
    """The dialogExpression link of the Invoices default search dialog, found by following links."""
    cabinets = client.get(f"{P}/FileCabinets").json()["FileCabinet"]
    cab = next(c for c in cabinets if c["Name"] == "Invoices")
    dialogs = client.get(f"{P}/FileCabinets/{cab['Id']}/Dialogs?dialogType=Search").json()
    dialog = next(d for d in dialogs["Dialog"] if d["IsDefault"])
    full = client.get(dialog["Links"][0]["href"]).json()
    return next(x["href"] for x in full["Query"]["Links"] if x["rel"] == "dialogExpression")


@pytest.fixture
def search(client: httpx.Client, expression: str) -> Callable[..., httpx.Response]:
    def run(
        *conditions: tuple[str, list[Any]], params: dict | None = None, **body: Any
    ) -> httpx.Response:
        body["Condition"] = [{"DBName": name, "Value": values} for name, values in conditions]
        return client.post(add_params(expression, params), json=body)

    return run


def add_params(url: str, params: dict | None) -> str:
    """Append query parameters (httpx's params= would replace the dialogId already there)."""
    return f"{url}&{urlencode(params)}" if params else url


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["Id"] for item in response.json()["Items"]]


def invoices(sandbox: SandboxServer) -> list[Document]:
    return sandbox.catalogue.documents("Invoices")


def expected(sandbox: SandboxServer, test: Callable[[dict], bool]) -> list[int]:
    return [d.id for d in invoices(sandbox) if test(d.values)]


def every_id(client: httpx.Client, first: httpx.Response) -> list[int]:
    """Follow `next` links to the end, checking page sizes on the way."""
    found, response = [], first
    while True:
        body = response.json()
        found += [item["Id"] for item in body["Items"]]
        nxt = [link["href"] for link in body["Links"] if link["rel"] == "next"]
        if not nxt:
            return found
        response = client.get(nxt[0])
        assert response.status_code == 200


def test_exact_match_with_one_hit(sandbox, search) -> None:
    number = sandbox.catalogue.invoice_numbers_with_hits(1)[0]
    response = search(("INVOICE_NO", [number]))
    assert ids(response) == expected(sandbox, lambda v: v["INVOICE_NO"] == number)
    body = response.json()
    assert body["Count"] == {"Value": 1, "HasMore": False, "ExceedLimit": False}
    item = body["Items"][0]
    assert any(f["FieldName"] == "INVOICE_NO" and f["Item"] == number for f in item["Fields"])
    assert {x["rel"] for x in item["Links"]} >= {"self", "fileDownload"}


def test_several_hits_and_zero_hits(sandbox, search) -> None:
    several = sandbox.catalogue.invoice_numbers_with_several_hits()[0]
    assert len(ids(search(("INVOICE_NO", [several])))) in (2, 3)
    missing = sandbox.catalogue.missing_invoice_numbers(1)[0]
    response = search(("INVOICE_NO", [missing]))
    assert ids(response) == [] and response.json()["Count"]["Value"] == 0
    assert not [x for x in response.json()["Links"] if x["rel"] == "next"]


def test_text_matching_is_case_insensitive(sandbox, search) -> None:
    want = expected(sandbox, lambda v: v["SUPPLIER"] == "Müller & Söhne GmbH")
    response = search(("SUPPLIER", ["MÜLLER & SÖHNE gmbh"]), params={"count": 1000})
    assert ids(response) == want and want


def test_wildcards_star_and_question_mark(sandbox, search) -> None:
    want = expected(
        sandbox, lambda v: len(v["INVOICE_NO"]) == 6 and v["INVOICE_NO"].startswith("10002")
    )
    assert ids(search(("INVOICE_NO", ["10002?"]), params={"count": 500})) == want
    want = expected(sandbox, lambda v: v["SUPPLIER"].lower().startswith("sch"))
    assert ids(search(("SUPPLIER", ["sch*"]), params={"count": 500})) == want and want


def test_escaped_metacharacters_are_literal(sandbox, search) -> None:
    star = expected(sandbox, lambda v: v["SUPPLIER"] == "Star*Mart")
    assert ids(search(("SUPPLIER", [r"Star\*Mart"]), params={"count": 500})) == star and star
    smith = expected(sandbox, lambda v: v["SUPPLIER"] == "Smith (UK) Ltd")
    assert ids(search(("SUPPLIER", [r"Smith \(UK\) Ltd"]), params={"count": 500})) == smith


@pytest.mark.parametrize("value", ["Smith (UK) Ltd", "a)b", "/Date(1700000000000)/"])
def test_unparsable_values_are_422(search, value: str) -> None:
    field = "DOC_DATE" if value.startswith("/Date") else "SUPPLIER"
    response = search((field, [value]))
    assert response.status_code == 422
    assert response.json()["StatusCode"] == 422 and response.json()["Message"]


def test_two_values_are_an_inclusive_date_range(sandbox, search) -> None:
    low, high = dt.date(2020, 3, 1), dt.date(2020, 3, 31)

    def inside(v: dict) -> bool:
        day = dt.datetime.fromtimestamp(v["DOC_DATE"] / 1000, dt.UTC).date()
        return low <= day <= high

    got = search(("DOC_DATE", [low.isoformat(), high.isoformat()]), params={"count": 1000})
    assert ids(got) == expected(sandbox, inside) and ids(got)


def test_open_ended_ranges_use_null(sandbox, search) -> None:
    high = search(("AMOUNT", ["49000", None]), params={"count": 1000})
    assert ids(high) == expected(sandbox, lambda v: v["AMOUNT"] >= 49000) and ids(high)
    low = search(("AMOUNT", [None, "100"]), params={"count": 1000})
    assert ids(low) == expected(sandbox, lambda v: v["AMOUNT"] <= 100)


def test_empty_and_notempty(sandbox, search) -> None:
    empty = search(("STATUS", ["EMPTY()"]), params={"count": 1000})
    assert ids(empty) == expected(sandbox, lambda v: v["STATUS"] is None) and ids(empty)
    full = search(("STATUS", ["NOTEMPTY()"]), params={"count": 10000})
    assert full.json()["Count"]["Value"] == len(invoices(sandbox)) - len(ids(empty))
    bound = search(("AMOUNT", ["EMPTY()", "100"]))
    assert ids(bound) == []  # EMPTY() as a range bound matches nothing, like DocuWare


def test_and_versus_or(sandbox, search) -> None:
    first, second = sandbox.catalogue.invoice_numbers_with_hits(2)
    both = [("INVOICE_NO", [first]), ("INVOICE_NO", [second])]
    assert ids(search(*both, Operation="And")) == []
    assert ids(search(*both, Operation="Or")) == expected(
        sandbox, lambda v: v["INVOICE_NO"] in (first, second)
    )


def test_keyword_field_matches_any_keyword(sandbox, search) -> None:
    want = expected(sandbox, lambda v: "urgent" in v["TAGS"])
    assert ids(search(("TAGS", ["URGENT"]), params={"count": 1000})) == want and want


def test_sort_order_in_body_and_query(sandbox, client, expression, search) -> None:
    body = search(
        ("SUPPLIER", ["a*"]),
        SortOrder=[{"Field": "AMOUNT", "Direction": "Desc"}],
        params={"count": 1000, "fields": "AMOUNT"},
    ).json()
    amounts = [
        next(f["Item"] for f in item["Fields"] if f["FieldName"] == "AMOUNT")
        for item in body["Items"]
    ]
    assert amounts == sorted(amounts, reverse=True) and len(amounts) > 10
    query = search(("SUPPLIER", ["a*"]), params={"count": 1000, "sortOrder": "AMOUNT Asc"}).json()
    assert [i["Id"] for i in query["Items"]] == [i["Id"] for i in reversed(body["Items"])]


def test_paging_follows_next_to_the_end(sandbox, client, search) -> None:
    want = expected(sandbox, lambda v: v["STATUS"] == "Paid")
    first = search(("STATUS", ["paid"]), params={"count": 97})
    assert len(ids(first)) == 97 and first.json()["Count"]["Value"] == len(want)
    assert every_id(client, first) == want


def test_default_page_size_is_50(search) -> None:
    response = search()
    assert len(ids(response)) == 50
    assert any(x["rel"] == "next" for x in response.json()["Links"])


def test_body_start_and_count(sandbox, search) -> None:
    assert ids(search(Start=10, Count=5)) == list(range(11, 16))


def test_count_above_limit_is_422(search) -> None:
    response = search(params={"count": 10001})
    assert response.status_code == 422
    assert "SearchResultLimitExceed" in response.json()["Message"]
    assert "10000" in response.json()["Message"]


def test_unknown_field_dialog_and_cabinet_are_422(client, expression, search) -> None:
    assert search(("NO_SUCH_FIELD", ["x"])).status_code == 422
    bad_dialog = expression.split("dialogId=")[0] + "dialogId=nope"
    assert client.post(bad_dialog, json={}).status_code == 422
    bad_cabinet = f"{P}/FileCabinets/not-a-cabinet/Query/DialogExpression?dialogId=x"
    assert client.post(bad_cabinet, json={}).status_code == 422


def test_dialog_expression_link_round_trip(sandbox, client, expression, search) -> None:
    conditions = [
        {"DBName": "SUPPLIER", "Value": ["Müller & Söhne GmbH"]},
        {"DBName": "DOC_DATE", "Value": ["2020-01-01", "2022-12-31"]},
        {"DBName": "AMOUNT", "Value": [None, "30000"]},
    ]
    link_url = expression.replace("DialogExpression?", "DialogExpressionLink?")
    answer = client.post(
        add_params(link_url, {"fields": "NOTES"}),
        json={"Condition": conditions, "Operation": "And"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    relative = answer.text.strip().splitlines()[0]
    assert relative.startswith(f"{P}/FileCabinets/") and "/Documents?q=" in relative
    via_link = client.get(add_params(relative, {"count": 1000}))
    direct = client.post(add_params(expression, {"count": 1000}), json={"Condition": conditions})
    assert ids(via_link) == ids(direct) and ids(direct)
    assert any(f["FieldName"] == "NOTES" for f in via_link.json()["Items"][0]["Fields"])


def test_documents_listing(sandbox, client) -> None:
    cab = sandbox.catalogue.invoice_cabinet_id
    page = client.get(
        f"{P}/FileCabinets/{cab}/Documents", params={"count": 3, "start": 5, "fields": "NOTES"}
    )
    assert ids(page) == [6, 7, 8]
    assert page.json()["Count"]["Value"] == len(invoices(sandbox))
    assert (
        client.get(f"{P}/FileCabinets/{cab}/Documents", params={"count": 20000}).status_code == 422
    )


def test_count_expression(sandbox, client, expression) -> None:
    count_url = expression.replace("DialogExpression?", "CountExpression?")
    total = client.get(count_url).json()
    assert total["Group"][0]["Count"] == len(invoices(sandbox))
    grouped = client.get(add_params(count_url, {"fieldName": "STATUS"})).json()["Group"]
    assert sum(g["Count"] for g in grouped) == len(invoices(sandbox))
    paid = next(g["Count"] for g in grouped if g["Name"] == "Paid")
    assert paid == len(expected(sandbox, lambda v: v["STATUS"] == "Paid"))
    posted = client.post(
        count_url,
        json={
            "DialogExpression": {"Condition": [{"DBName": "STATUS", "Value": ["Paid"]}]},
            "FieldName": "",
        },
    ).json()
    assert posted["Group"][0]["Count"] == paid


def test_documents_by_id_or_ids_with_a_range_and_a_missing_one(sandbox, search) -> None:
    """A query job's rows are searched by id (`DWDOCID = a OR b …`): found by id, as DocuWare
    finds them, beside a range of ids and an id that does not exist."""
    first, second, last = (d.id for d in invoices(sandbox)[:2] + invoices(sandbox)[-1:])
    one_of = search(("DWDOCID", [str(second)]), ("DWDOCID", ["99999999"]), Operation="Or")
    assert ids(one_of) == [second]
    by_range = search(("DWDOCID", [str(first), str(second)]))
    assert ids(by_range) == [first, second]
    assert ids(search(("DWDOCID", [str(last)]))) == [last]
