"""The DocuWare client against the sandbox over real HTTP: auth modes, paging, downloads, faults."""

import asyncio
import io
import time
import zipfile
from dataclasses import replace

import httpx
import pytest

from exmado_tui.config.settings import DocuWareSettings, Secret
from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.errors import AuthenticationError, NotFoundError, RetryPolicy
from exmado_tui.docuware.query import Exact, Or, Wildcard
from exmado_tui.sandbox import FaultSettings, SandboxConfig, SandboxServer

BASE = DocuWareSettings(
    url="http://unset",
    username="demo",
    password=Secret("demo"),
    auth="auto",
    timeout_s=10,
    max_attempts=6,
    throttle_default_wait_s=1,
)


def client(server, clock=time.monotonic, **changes) -> AsyncDocuWareClient:
    settings = replace(BASE, url=server.url, **changes)
    return AsyncDocuWareClient(
        settings,
        retry=RetryPolicy(
            max_attempts=settings.max_attempts, throttle_default_wait_s=1, backoff_base_s=0.01
        ),
        clock=clock,
    )


def stats(server) -> dict:
    return httpx.get(f"{server.url}/_sandbox/stats").json()


@pytest.mark.parametrize(
    ("sandbox_auth", "client_auth", "expected"),
    [
        ("both", "oauth", "oauth"),
        ("both", "cookie", "cookie"),
        ("both", "auto", "oauth"),
        ("cookie", "auto", "cookie"),
        ("oauth-only-410", "auto", "oauth"),
    ],
)
async def test_auth_modes(sandbox_factory, sandbox_auth, client_auth, expected):
    server = sandbox_factory(auth=sandbox_auth, documents=20)
    async with client(server, auth=client_auth) as dw:
        cabinets = await dw.file_cabinets()
        assert dw.auth_mode == expected
    assert {c.name for c in cabinets} >= {"Invoices", "Personnel"}


async def test_forced_cookie_on_oauth_only_server_is_clear(sandbox_factory):
    server = sandbox_factory(auth="oauth-only-410", documents=20)
    async with client(server, auth="cookie") as dw:
        with pytest.raises(AuthenticationError, match="no longer accepts cookie logon"):
            await dw.file_cabinets()


@pytest.mark.parametrize("mode", ["oauth", "cookie"])
async def test_bad_credentials_reported_clearly(sandbox, mode):
    async with client(sandbox, auth=mode, password=Secret("wrong-pass")) as dw:
        with pytest.raises(AuthenticationError) as info:
            await dw.file_cabinets()
    assert "refused the sign-in of 'demo'" in str(info.value)
    assert "wrong-pass" not in str(info.value)


APP_REGISTRATION = {  # the sandbox takes a user's name and password as client id and secret
    "auth": "client_credentials",
    "username": "",
    "password": Secret(""),
    "client_id": "demo",
    "client_secret": Secret("demo"),
}


async def test_app_registration_signs_in_with_client_credentials(sandbox_factory, tmp_path):
    server = sandbox_factory(auth="oauth", documents=20)
    async with client(server, **APP_REGISTRATION) as dw:
        cabinets = await dw.file_cabinets()
        found = [d async for d in dw.search("Invoices", limit=2)]
        result = await dw.download(found[0], tmp_path / "doc")
        assert dw.auth_mode == "client_credentials"
    assert {c.name for c in cabinets} >= {"Invoices", "Personnel"}
    assert len(found) == 2 and result.size == (tmp_path / "doc").stat().st_size > 0
    assert stats(server)["by_endpoint"]["Token"] == 1


async def test_app_registration_with_a_wrong_secret_is_refused_by_client_id(sandbox):
    changes = {**APP_REGISTRATION, "client_secret": Secret("wrong-app-secret")}
    async with client(sandbox, **changes) as dw:
        with pytest.raises(AuthenticationError) as info:
            await dw.file_cabinets()
    assert "refused the sign-in of the app registration (client id 'demo')" in str(info.value)
    assert "wrong-app-secret" not in str(info.value)


async def test_paging_past_one_page_matches_single_page(sandbox):
    async with client(sandbox) as dw:
        paged = [d.id async for d in dw.search("Invoices", page_size=300)]
        whole = [d.id async for d in dw.search("Invoices", page_size=10_000)]
    assert len(paged) > 300
    assert len(set(paged)) == len(paged)
    assert sorted(paged) == sorted(whole)


async def test_search_conditions_and_batched_keys(sandbox):
    async with client(sandbox) as dw:
        docs = [d async for d in dw.search("Invoices", Wildcard("SUPPLIER", "A*"), limit=20)]
        assert docs and all(d.get_text("SUPPLIER").lower().startswith("a") for d in docs)
        keys = [d.get_text("INVOICE_NO") for d in docs[:5]] + ["NO-SUCH-KEY"]
        hits = await dw.search_keys("Invoices", "INVOICE_NO", keys, batch_size=3)
        one = [d async for d in dw.search("Invoices", Or(Exact("INVOICE_NO", keys[0])))]
    assert [d.id for d in hits[keys[0]]] == [one[0].id]
    assert all(len(hits[k]) >= 1 for k in keys[:5]) and hits["NO-SUCH-KEY"] == []


@pytest.mark.parametrize(("mode", "login_endpoint"), [("oauth", "Token"), ("cookie", "Logon")])
async def test_session_expiry_mid_run_relogs_in(sandbox_factory, mode, login_endpoint):
    server = sandbox_factory(documents=300)
    async with client(server, auth=mode) as dw:
        ids = []
        async for document in dw.search("Invoices", page_size=100):
            ids.append(document.id)
            if len(ids) == 150:
                server.faults.expire_tokens()
        assert len(ids) == 300
    assert stats(server)["by_endpoint"][login_endpoint] == 2


async def test_short_token_ttl_is_renewed(clock):
    config = SandboxConfig(port=0, documents=20, faults=FaultSettings(token_ttl=1))
    with SandboxServer(config, clock=clock) as server:  # one clock for the server and client
        async with client(server, clock, auth="oauth") as dw:
            await dw.file_cabinets()
            clock.now += 1.1
            assert (await dw.get_document("Invoices", 1)).id == 1
        assert stats(server)["by_endpoint"]["Token"] >= 2


async def first_document(dw, sections_wanted):
    async for document in dw.search("Invoices", page_size=200):
        if sections_wanted(document.section_count):
            return document
    raise AssertionError("the sandbox has no such document")


async def test_download_formats(sandbox, tmp_path):
    async with client(sandbox) as dw:
        single = await first_document(dw, lambda n: n == 1)
        multi = await first_document(dw, lambda n: n > 1)
        auto1 = await dw.download(single, tmp_path / "a1")
        auto2 = await dw.download(multi, tmp_path / "a2")
        pdf = await dw.download(multi, tmp_path / "p", target="PDF")
        packed = await dw.download(single, tmp_path / "z", target="Zip")
        full = await dw.get_document("Invoices", multi.id)
        section = await dw.download_section("Invoices", full.sections[1], tmp_path / "s")
    assert auto1.content_type != "application/zip"
    assert auto1.size == (tmp_path / "a1").stat().st_size
    assert auto2.content_type == "application/zip" and auto2.filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO((tmp_path / "a2").read_bytes())) as archive:
        assert len(archive.namelist()) == multi.section_count
    assert pdf.content_type == "application/pdf" and (tmp_path / "p").read_bytes()[:5] == b"%PDF-"
    assert packed.content_type == "application/zip" and zipfile.is_zipfile(tmp_path / "z")
    assert section.size == full.sections[1].file_size
    assert "/" not in section.filename and section.filename


async def test_not_found_reported_with_docuware_message(sandbox, tmp_path):
    async with client(sandbox) as dw:
        with pytest.raises(NotFoundError) as info:
            await dw.get_document("Invoices", 987654)
        with pytest.raises(NotFoundError):
            cabinet = await dw.find_cabinet("Invoices")
            await dw.download((cabinet.id, 987654), tmp_path / "x")
    assert "Documents/987654" in str(info.value) and "not found" in str(info.value)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("delay_ms", [0, 300])  # 300: the 429 comes late, as DocuWare's does
async def test_throttling_recovered_and_holds_everyone(sandbox_factory, delay_ms):
    server = sandbox_factory(documents=20, faults=FaultSettings(throttle_delay_ms=delay_ms))
    async with client(server) as dw:
        await dw.file_cabinets()
        server.faults.update(throttle_rps=3)
        results = await asyncio.gather(*(dw.get_document("Invoices", n) for n in range(1, 9)))
    assert [d.id for d in results] == list(range(1, 9))
    assert stats(server)["by_status"].get("429", 0) >= 1


async def test_server_errors_recovered(sandbox_factory, tmp_path):
    server = sandbox_factory(documents=60)
    async with client(server, max_attempts=10) as dw:
        cabinet = await dw.find_cabinet("Invoices")
        server.faults.update(error_rate=0.3)
        ids = [d.id async for d in dw.search("Invoices", page_size=10)]
        result = await dw.download((cabinet.id, 1), tmp_path / "f")
    assert len(ids) == 60 and result.size > 0
    statuses = stats(server)["by_status"]
    assert sum(n for code, n in statuses.items() if code.startswith("5")) >= 1


async def test_search_keys_by_field_name_in_other_case_or_label(sandbox):
    """DocuWare answers FieldName as the dialog's DBFieldName whatever case was searched."""
    async with client(sandbox) as dw:
        docs = [d async for d in dw.search("Invoices", limit=3)]
        keys = [d.get_text("INVOICE_NO") for d in docs]
        label = (await dw.dialog("Invoices")).field("INVOICE_NO").label
        lower = await dw.search_keys("Invoices", "invoice_no", keys)
        by_label = await dw.search_keys("Invoices", label, keys)
    for hits in (lower, by_label):
        assert [[d.id for d in hits[k]] for k in keys] == [[d.id] for d in docs]


async def test_exact_value_with_backslash_and_wildcards_is_literal(sandbox_factory, sandbox_login):
    """`\\` escapes the next character in a search value, so a literal backslash is `\\\\`."""
    server = sandbox_factory(documents=50)
    cab = server.catalogue.invoice_cabinet_id
    headers = {"Authorization": f"Bearer {sandbox_login(server.url)}", "Accept": "application/json"}
    names = {1: "Dupont\\Fils (*)", 2: "Dupont\\Fils (x)", 3: "DupontFils (*)"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
        for doc_id, name in names.items():
            http.put(
                f"/DocuWare/Platform/FileCabinets/{cab}/Documents/{doc_id}/Fields",
                json={"Field": [{"FieldName": "SUPPLIER", "Item": name}]},
            ).raise_for_status()
    async with client(server) as dw:
        found = [d.id async for d in dw.search("Invoices", Exact("SUPPLIER", names[1]))]
        hits = await dw.search_keys("Invoices", "SUPPLIER", [names[1], names[3]])
    assert found == [1]
    assert [d.id for d in hits[names[1]]] == [1] and [d.id for d in hits[names[3]]] == [3]
