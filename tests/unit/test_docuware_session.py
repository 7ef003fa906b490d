"""The blocking `DocuWareSession` and the connection settings (pool, TLS, headers)."""

import asyncio
import ssl

import httpx
import pytest

from exmado_tui.config.settings import DocuWareSettings, Secret
from exmado_tui.docuware.connection import build_http, tls_verify
from exmado_tui.docuware.errors import NotFoundError
from exmado_tui.docuware.session import DocuWareSession
from exmado_tui.errors import SettingsError

SETTINGS = DocuWareSettings(url="http://dw.test", username="u", password=Secret("p"), auth="cookie")
P = "/DocuWare/Platform"


def handler(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.startswith(f"{P}/Account/"):
        return httpx.Response(200, json={})
    if path == P:
        return httpx.Response(200, json={"Version": "7.10.0.0", "Links": []})
    if path == f"{P}/Organizations":
        return httpx.Response(200, json={"Organization": [{"Id": "1", "Name": "Org"}]})
    if path == f"{P}/FileCabinets":
        return httpx.Response(200, json={"FileCabinet": [{"Id": "fc", "Name": "Invoices"}]})
    if path == f"{P}/FileCabinets/fc/Dialogs":
        return httpx.Response(200, json={"Dialog": [{"Id": "d", "Type": "Search"}]})
    if path == f"{P}/FileCabinets/fc/Dialogs/d":
        return httpx.Response(200, json={"Id": "d", "Fields": []})
    if path == f"{P}/FileCabinets/fc/Query/DialogExpression":
        start = int(request.url.params.get("start", 0))
        items = [{"Id": start + i, "Fields": []} for i in range(1, 3)]
        links = [] if start else [{"rel": "next", "href": f"{path}?dialogId=d&start=2"}]
        return httpx.Response(200, json={"Items": items, "Links": links})
    return httpx.Response(404, json={"Message": "Nothing here."})


def test_session_runs_calls_and_lazy_search():
    calls = []

    def recording(request):
        calls.append(request.url.path)
        return handler(request)

    with DocuWareSession(SETTINGS, transport=httpx.MockTransport(recording)) as session:
        assert session.service_description().version == "7.10.0.0"
        assert session.login() == "cookie" and session.auth_mode == "cookie"
        results = session.search("Invoices")
        assert next(results).id == 1
        assert [d.id for d in results] == [2, 3, 4]
        with pytest.raises(NotFoundError, match="Nothing here"):
            session.get_document("Invoices", 9)
    assert calls[-1] == f"{P}/Account/Logoff"


async def test_session_works_inside_a_running_loop():
    session = DocuWareSession(SETTINGS, transport=httpx.MockTransport(handler))
    try:
        assert [c.name for c in session.file_cabinets()] == ["Invoices"]
    finally:
        session.close()
    session.close()  # closing twice is harmless


def test_tls_verify_choices(tmp_path):
    assert tls_verify(SETTINGS) is True
    assert tls_verify(DocuWareSettings(url="https://x", verify_tls=False)) is False
    with pytest.raises(SettingsError, match="ca_bundle"):
        tls_verify(DocuWareSettings(url="https://x", ca_bundle=str(tmp_path / "missing.pem")))
    bundle = ssl.get_default_verify_paths().cafile
    if bundle:
        assert isinstance(
            tls_verify(DocuWareSettings(url="https://x", ca_bundle=bundle)), ssl.SSLContext
        )


async def test_timeout_and_default_headers():
    settings = DocuWareSettings(url="https://dw.example", timeout_s=12, max_connections=7)
    http = build_http(settings, None)  # the pool's limit: test_docuware_transport
    try:
        assert http.timeout.read == 12
        assert http.headers["Accept"] == "application/json"
        assert http.headers["User-Agent"].startswith("exmado/")
    finally:
        await http.aclose()


def test_cookies_are_still_kept_from_the_responses_that_set_them() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/logon":
            return httpx.Response(200, headers={"Set-Cookie": "session=s1; Path=/"})
        return httpx.Response(200, json={"cookie": request.headers.get("Cookie", "")})

    async def run() -> list[str]:
        settings = DocuWareSettings(url="http://dw.test")
        async with build_http(settings, httpx.MockTransport(server)) as http:
            before = (await http.get("/x")).json()["cookie"]
            await http.post("/logon")
            after = (await http.get("/x")).json()["cookie"]
            return [before, after, http.cookies.get("session")]

    assert asyncio.run(run()) == ["", "session=s1", "s1"]
