"""Sign-in: OAuth discovery and token caching, refresh, 401 replay, cookie logon, 410, auto."""

import asyncio
import logging

import httpx
import pytest

from exmado_tui.config.settings import Secret
from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.errors import AuthenticationError
from tests.clocks import ManualClock, no_sleep
from tests.fake_docuware_auth import ORGS, PASSWORD, SETTINGS, FakeAuthServer, client_for


async def test_oauth_discovery_password_grant_and_token_caching():
    server, clock = FakeAuthServer(), ManualClock()
    async with client_for(server, clock) as client:
        await client.organizations()
        client._organizations = None
        clock.now = 3000  # still > 60 s before expiry
        await client.organizations()
        assert client.auth_mode == "oauth"
    assert len(server.forms) == 1
    assert server.forms[0] == {
        "grant_type": "password",
        "username": "alice",
        "password": PASSWORD,
        "scope": "docuware.platform",
        "client_id": "docuware.platform.net.client",
    }


async def test_token_renewed_60_seconds_before_expiry():
    server, clock = FakeAuthServer(), ManualClock()
    async with client_for(server, clock) as client:
        await client.organizations()
        client._organizations = None
        clock.now = 3541
        await client.organizations()
    assert len(server.forms) == 2


async def test_refresh_token_used_and_rotated():
    server, clock = FakeAuthServer(refresh=True), ManualClock()
    async with client_for(server, clock) as client:
        for step in range(3):
            client._organizations = None
            clock.now = step * 4000
            await client.organizations()
    assert [f["grant_type"] for f in server.forms] == ["password", "refresh_token", "refresh_token"]
    assert server.forms[1]["refresh_token"] == "r-1"
    assert server.forms[2]["refresh_token"] == "r-2"


async def test_401_relogs_in_once_and_replays():
    server = FakeAuthServer()
    async with client_for(server) as client:
        await client.organizations()
        server.tokens.clear()  # server forgot the token (expired early)
        client._organizations = None
        assert (await client.organizations())[0].name == "Acme"
    assert len(server.forms) == 2


async def test_second_401_is_an_error_not_a_loop():
    server = FakeAuthServer()
    server.reject_all = True
    async with client_for(server) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.organizations()
    assert len(server.forms) == 2
    assert "even after signing in again" in str(info.value)


async def test_sixteen_concurrent_requests_after_expiry_trigger_one_login():
    server, clock = FakeAuthServer(), ManualClock()
    async with client_for(server, clock) as client:
        await client.login()
        clock.now = 4000
        server.tokens.clear()

        async def fetch():
            return await client.conn.json("GET", "/DocuWare/Platform/Organizations")

        results = await asyncio.gather(*(fetch() for _ in range(16)))
    assert all(r == ORGS for r in results)
    assert len(server.forms) == 2


async def test_sixteen_concurrent_401s_trigger_one_relogin():
    server = FakeAuthServer()
    async with client_for(server) as client:
        await client.login()
        server.tokens.clear()
        await asyncio.gather(
            *(client.conn.json("GET", "/DocuWare/Platform/Organizations") for _ in range(16))
        )
    assert len(server.forms) == 2


async def test_bad_credentials_report_error_description():
    server = FakeAuthServer()
    async with client_for(server, password=Secret("wrong")) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.organizations()
    message = str(info.value)
    assert "invalid_username_or_password" in message and "alice" in message
    assert "wrong" not in message
    assert not info.value.retryable


@pytest.mark.parametrize("auth", ["auto", "oauth", "cookie"])
async def test_no_password_configured_says_so_without_asking_docuware(auth):
    server = FakeAuthServer()
    async with client_for(server, password=Secret(""), auth=auth) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.organizations()
    assert str(info.value).startswith(
        "No DocuWare password is configured for 'alice': set DOCUWARE_PASSWORD, or "
        "[docuware] password_file"
    )
    assert (server.forms, server.logons, info.value.retryable) == ([], [], False)


async def test_cookie_logon_form_jar_and_logoff():
    server = FakeAuthServer(identity=False)
    async with client_for(server, auth="cookie") as client:
        await client.organizations()
        assert client.auth_mode == "cookie"
        assert client.conn.http.cookies.get("dwingressplatform") == "lb1"
    assert server.logons == [
        {
            "UserName": "alice",
            "Password": PASSWORD,
            "Organization": "Acme",
            "LicenseType": "PlatformService",
            "RememberMe": "false",
            "RedirectToMyselfInCaseOfError": "false",
        }
    ]
    assert server.logoffs == 1


async def test_cookie_bad_password_is_authentication_error():
    server = FakeAuthServer(identity=False)
    async with client_for(server, auth="cookie", password=Secret("nope")) as client:
        with pytest.raises(AuthenticationError, match="Invalid user name or password"):
            await client.organizations()


async def test_auto_falls_back_to_cookie_without_identity_service():
    server = FakeAuthServer(identity=False)
    async with client_for(server, auth="auto") as client:
        await client.organizations()
        assert client.auth_mode == "cookie"
    assert server.forms == [] and len(server.logons) == 1


async def test_auto_prefers_oauth():
    server = FakeAuthServer()
    async with client_for(server, auth="auto") as client:
        await client.organizations()
        assert client.auth_mode == "oauth"
    assert server.logons == []
    assert server.logoffs == 0


async def test_410_in_forced_cookie_mode_is_clear_error():
    server = FakeAuthServer(cookie=False)
    async with client_for(server, auth="cookie") as client:
        with pytest.raises(AuthenticationError, match="no longer accepts cookie logon"):
            await client.organizations()


async def test_410_in_auto_mode_switches_to_oauth():
    server = FakeAuthServer(identity=False, cookie=False)

    def handler(request):
        # IdentityServiceInfo missing, but the default Identity path works (7.11 on-prem)
        path = request.url.path
        if path == "/DocuWare/Identity/.well-known/openid-configuration":
            return httpx.Response(
                200, json={"token_endpoint": "http://id.test/tenant-1/connect/token"}
            )
        return server(request)

    async with client_for(handler, auth="auto") as client:
        await client.organizations()
        assert client.auth_mode == "oauth"
    assert len(server.logons) == 1 and len(server.forms) == 1


async def test_oauth_forced_without_identity_service_is_clear_error():
    server = FakeAuthServer(identity=False)
    async with client_for(server, auth="oauth") as client:
        with pytest.raises(AuthenticationError, match="no DocuWare Identity Service"):
            await client.organizations()


async def test_logs_never_contain_password_token_or_cookie(caplog):
    caplog.set_level(logging.DEBUG)
    server = FakeAuthServer(identity=False)
    async with client_for(server, auth="cookie") as client:
        await client.organizations()
    server2 = FakeAuthServer()
    async with client_for(server2) as client:
        await client.organizations()
        server2.tokens.clear()
        client._organizations = None
        await client.organizations()
    async with client_for(FakeAuthServer(), password=Secret("bad-" + PASSWORD)) as client:
        with pytest.raises(AuthenticationError):
            await client.organizations()
    text = caplog.text
    assert "/DocuWare/Platform/Organizations" in text  # logging does happen
    for secret in (PASSWORD, "tok-1", "tok-2", "c-1", "Bearer", "DWPLATFORMAUTH"):
        assert secret not in text


async def test_requests_carry_user_agent_and_accept():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"Version": "7.11"})

    async with client_for(handler) as client:
        await client.service_description()
    assert seen[0].headers["Accept"] == "application/json"
    assert seen[0].headers["User-Agent"].startswith("exmado/")
    assert "Authorization" not in seen[0].headers


async def test_short_token_lifetime_is_renewed_half_way_not_on_every_request():
    server, clock = FakeAuthServer(expires_in=10), ManualClock()
    async with client_for(server, clock) as client:
        for now in (0, 1, 4):
            clock.now = now
            client._organizations = None
            await client.organizations()
        assert len(server.forms) == 1
        clock.now = 5.5
        client._organizations = None
        await client.organizations()
    assert len(server.forms) == 2


async def test_late_401_does_not_drop_the_newer_token():
    server, issued = FakeAuthServer(), asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/connect/token"):
            response = server(request)
            if len(server.forms) >= 2:
                issued.set()
            return response
        if request.url.params.get("late") and request.headers["Authorization"] == "Bearer tok-1":
            await issued.wait()  # this 401 arrives after the other request already re-logged in
        await asyncio.sleep(0)
        return server(request)

    client = AsyncDocuWareClient(SETTINGS, transport=httpx.MockTransport(handler), sleep=no_sleep)
    async with client:
        await client.login()
        server.tokens.clear()
        organizations = "/DocuWare/Platform/Organizations"
        await asyncio.gather(
            client.conn.json("GET", organizations),
            client.conn.json("GET", organizations, params={"late": "1"}),
        )
    assert len(server.forms) == 2


async def test_a_password_file_corrected_is_read_again_at_the_next_sign_in(tmp_path):
    """A worker keeps running: the file's new content is used without restarting it."""
    secret_file = tmp_path / "dw-password"
    secret_file.write_text("wrong\n")
    secret_file.chmod(0o600)
    origin = "[docuware] password_file in host.toml"
    server = FakeAuthServer()
    async with client_for(server, password=Secret("wrong", origin, secret_file)) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.organizations()
        assert f"Correct {secret_file} ({origin}): workers read it again" in str(info.value)
        secret_file.write_text(PASSWORD + "\n")
        await client.organizations()  # the same client: a running worker
    assert [f["password"] for f in server.forms] == ["wrong", PASSWORD]


async def test_a_password_from_the_environment_refused_says_to_restart_the_workers():
    server = FakeAuthServer()
    async with client_for(server, password=Secret("wrong", "DOCUWARE_PASSWORD")) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.organizations()
    assert "Correct DOCUWARE_PASSWORD where the workers are started" in str(info.value)
    assert "restart them (`exmado down`, `exmado up`), then retry the job" in str(info.value)


async def test_session_that_ends_during_each_slow_answer_is_signed_in_again():
    """A short-lived session refused after a slow answer is renewed again (within the
    attempts), not called wrong credentials: only a fresh session's refusal is final."""
    server, clock = FakeAuthServer(), ManualClock()

    def slow_then_expired(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Organizations") and server.count < 3:
            clock.now += 1.5  # the answer took longer than the session lived
            server.tokens.clear()
        return server(request)

    async with client_for(slow_then_expired, clock) as client:
        assert (await client.organizations())[0].name == "Acme"
    assert len(server.forms) == 3
