"""Sandbox conformance: OAuth discovery and grants, token expiry, cookie logon, auth modes."""

from __future__ import annotations

import httpx
import pytest

from exmado_tui.sandbox import FaultSettings, SandboxConfig, SandboxServer
from tests.clocks import ManualClock
from tests.sandbox_login import PLATFORM_CLIENT_ID, TOKEN_PATH, password_grant

P = "/DocuWare/Platform"
JSON = {"Accept": "application/json"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **JSON}


def test_discovery_chain_leads_to_a_working_token(sandbox: SandboxServer) -> None:
    info = httpx.get(f"{sandbox.url}{P}/Home/IdentityServiceInfo", headers=JSON).json()
    assert info["IdentityServiceUrl"] == f"{sandbox.url}/DocuWare/Identity"
    oidc = httpx.get(info["IdentityServiceUrl"] + "/.well-known/openid-configuration").json()
    assert {"token_endpoint", "authorization_endpoint", "issuer"} <= set(oidc)
    response = httpx.post(oidc["token_endpoint"], data=password_grant(), headers=JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "docuware.platform" and "refresh_token" not in body
    orgs = httpx.get(f"{sandbox.url}{P}/Organizations", headers=bearer(body["access_token"]))
    assert orgs.status_code == 200 and orgs.json()["Organization"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"password": "wrong"}, "invalid_grant"),
        ({"username": "nobody"}, "invalid_grant"),
        ({"client_id": "someone.else"}, "invalid_client"),
        ({"scope": "openid"}, "invalid_scope"),
        ({"grant_type": "magic"}, "unsupported_grant_type"),
    ],
)
def test_token_refusals_are_oauth_400s(
    sandbox: SandboxServer, change: dict[str, str], error: str
) -> None:
    response = httpx.post(f"{sandbox.url}{TOKEN_PATH}", data=password_grant(**change))
    assert response.status_code == 400
    assert response.json()["error"] == error and response.json()["error_description"]


def test_client_credentials_grant(sandbox: SandboxServer) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo",
        "client_secret": "demo",
        "scope": "docuware.platform",
    }
    response = httpx.post(f"{sandbox.url}{TOKEN_PATH}", data=form)
    assert response.status_code == 200
    form["client_secret"] = "nope"
    refused = httpx.post(f"{sandbox.url}{TOKEN_PATH}", data=form)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client"


def test_refresh_tokens_rotate_and_reuse_revokes_the_family(sandbox: SandboxServer) -> None:
    url = f"{sandbox.url}{TOKEN_PATH}"
    first = httpx.post(url, data=password_grant(scope="docuware.platform offline_access")).json()

    def refresh(token: str) -> httpx.Response:
        return httpx.post(
            url,
            data={
                "grant_type": "refresh_token",
                "client_id": PLATFORM_CLIENT_ID,
                "refresh_token": token,
            },
        )

    second = refresh(first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()["refresh_token"]
    assert rotated != first["refresh_token"]
    reused = refresh(first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert refresh(rotated).status_code == 400  # the whole family is revoked


def test_no_token_gets_401_html_meta_refresh(sandbox: SandboxServer) -> None:
    response = httpx.get(f"{sandbox.url}{P}/FileCabinets", headers=JSON)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert 'http-equiv="refresh"' in response.text and "LoginRedirect" in response.text


def test_unknown_bearer_token_gets_401_json(sandbox: SandboxServer) -> None:
    response = httpx.get(f"{sandbox.url}{P}/Organizations", headers=bearer("not-a-token"))
    assert response.status_code == 401
    body = response.json()
    assert body["StatusCode"] == 401 and body["Message"] and body["Method"] == "GET"


def test_token_expires_after_its_ttl(clock: ManualClock, sandbox_login) -> None:
    config = SandboxConfig(port=0, documents=500, faults=FaultSettings(token_ttl=60))
    with SandboxServer(config, clock=clock) as server:
        token = sandbox_login(server.url)
        url = f"{server.url}{P}/Organizations"
        clock.now += 59
        assert httpx.get(url, headers=bearer(token)).status_code == 200
        clock.now += 1
        assert httpx.get(url, headers=bearer(token)).status_code == 401
        assert httpx.get(url, headers=bearer(sandbox_login(server.url))).status_code == 200


def test_expire_tokens_over_http_invalidates_tokens_and_cookies(
    sandbox_factory, sandbox_login
) -> None:
    server = sandbox_factory()
    token = sandbox_login(server.url)
    with httpx.Client(base_url=server.url, headers=JSON) as cookie_client:
        cookie_client.post(f"{P}/Account/Logon", data={"UserName": "demo", "Password": "demo"})
        assert cookie_client.get(f"{P}/Organizations").status_code == 200
        answer = httpx.post(f"{server.url}/_sandbox/faults", json={"expire_tokens": True})
        assert answer.status_code == 200
        assert cookie_client.get(f"{P}/Organizations").status_code == 401
    assert httpx.get(f"{server.url}{P}/Organizations", headers=bearer(token)).status_code == 401


def test_cookie_logon_and_logoff(sandbox: SandboxServer) -> None:
    with httpx.Client(base_url=sandbox.url, headers=JSON) as client:
        logon = client.post(
            f"{P}/Account/Logon",
            data={
                "UserName": "demo",
                "Password": "demo",
                "Organization": "",
                "RememberMe": "false",
                "RedirectToMyselfInCaseOfError": "false",
                "LicenseType": "PlatformService",
            },
        )
        assert logon.status_code == 200 and "Links" in logon.json()
        assert {".DWPLATFORMAUTH", "DWPLATFORMBROWSERID"} <= set(client.cookies.keys())
        session = client.cookies[".DWPLATFORMAUTH"]
        assert client.get(f"{P}/FileCabinets").status_code == 200
        assert client.get(f"{P}/Account/Logoff").status_code == 200
    after = httpx.get(
        f"{sandbox.url}{P}/FileCabinets", headers={"Cookie": f".DWPLATFORMAUTH={session}", **JSON}
    )
    assert after.status_code == 401


def test_cookie_logon_with_wrong_password_is_401(sandbox: SandboxServer) -> None:
    response = httpx.post(
        f"{sandbox.url}{P}/Account/Logon",
        data={"UserName": "demo", "Password": "bad"},
        headers=JSON,
    )
    assert response.status_code == 401 and response.json()["Message"]
    assert ".DWPLATFORMAUTH" not in response.cookies


def test_oauth_only_410_mode(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory(auth="oauth-only-410")
    assert httpx.get(f"{server.url}{P}").json()["Version"] == "7.11.0.0"
    logon = httpx.post(
        f"{server.url}{P}/Account/Logon",
        data={"UserName": "demo", "Password": "demo"},
        headers=JSON,
    )
    assert logon.status_code == 410
    assert "no longer supported" in logon.json()["Message"]
    token = sandbox_login(server.url)
    assert httpx.get(f"{server.url}{P}/Organizations", headers=bearer(token)).status_code == 200


def test_cookie_only_mode_has_no_identity_service(sandbox_factory) -> None:
    server = sandbox_factory(auth="cookie")
    assert httpx.get(f"{server.url}{P}").json()["Version"] == "7.4.0.0"
    info = httpx.get(f"{server.url}{P}/Home/IdentityServiceInfo", headers=JSON)
    assert info.status_code == 404
    token = httpx.post(f"{server.url}{TOKEN_PATH}", data=password_grant())
    assert token.status_code == 404
    with httpx.Client(base_url=server.url, headers=JSON) as client:
        client.post(f"{P}/Account/Logon", data={"UserName": "demo", "Password": "demo"})
        assert client.get(f"{P}/Organizations").status_code == 200


def test_oauth_mode_has_no_cookie_logon(sandbox_factory) -> None:
    server = sandbox_factory(auth="oauth")
    logon = httpx.post(
        f"{server.url}{P}/Account/Logon",
        data={"UserName": "demo", "Password": "demo"},
        headers=JSON,
    )
    assert logon.status_code == 404


def test_configured_users_replace_the_demo_user(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory(users=(("alice", "s3cret"),))
    assert sandbox_login(server.url, "alice", "s3cret")
    with pytest.raises(httpx.HTTPStatusError):
        sandbox_login(server.url, "demo", "demo")
