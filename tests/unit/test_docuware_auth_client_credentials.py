"""Sign-in as a DocuWare app registration: the client_credentials grant, renewal, refusals."""

import asyncio
import logging
from urllib.parse import parse_qs

import httpx
import pytest

from exmado_tui.config.settings import Secret
from exmado_tui.docuware.errors import AuthenticationError
from tests.clocks import ManualClock
from tests.fake_docuware_auth import ORGS, FakeAuthServer, client_for

CLIENT_ID = "exmado-export"
SECRET = "cs-Zq8!vR2#unmistakable"
APP = {
    "auth": "client_credentials",
    "username": "",
    "password": Secret(""),
    "client_id": CLIENT_ID,
    "client_secret": Secret(SECRET),
}


class AppRegistrationServer(FakeAuthServer):
    """FakeAuthServer whose token endpoint knows one app registration and nothing else."""

    def __init__(self, *, echo_secret=False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.refusal = ("invalid_client", "Client authentication failed.")
        self.echo_secret = echo_secret
        self.secret = SECRET

    def token(self, request):
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.forms.append(form)
        assert len(self.forms) < 10, "the client keeps signing in"
        ok = form.get("grant_type") == "client_credentials" and (
            form.get("client_id"),
            form.get("client_secret"),
        ) == (CLIENT_ID, self.secret)
        if not ok:
            error, description = self.refusal
            if self.echo_secret:
                description += f" Secret {form.get('client_secret')} is wrong."
            return httpx.Response(400, json={"error": error, "error_description": description})
        self.count += 1
        token = f"tok-{self.count}"
        self.tokens.add(token)
        body = {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        if self.refresh:  # sent anyway by some servers; client_credentials must not use it
            body["refresh_token"] = f"r-{self.count}"
        return httpx.Response(200, json=body)


def app_client(server, clock=None, **changes):
    return client_for(server, clock, **{**APP, **changes})


EXPECTED_FORM = {
    "grant_type": "client_credentials",
    "client_id": CLIENT_ID,
    "client_secret": SECRET,
    "scope": "docuware.platform",
}


async def test_form_has_exactly_the_client_credentials_fields():
    server = AppRegistrationServer()
    async with app_client(server) as client:
        assert (await client.organizations())[0].name == "Acme"
        assert client.auth_mode == "client_credentials"
    assert server.forms == [EXPECTED_FORM]  # posted to the discovered token endpoint
    assert server.logons == []


async def test_token_near_expiry_is_requested_again_the_same_way():
    server, clock = AppRegistrationServer(refresh=True), ManualClock()
    async with app_client(server, clock) as client:
        await client.organizations()
        for now in (3000, 3541):
            clock.now = now
            client._organizations = None
            await client.organizations()
    assert server.forms == [EXPECTED_FORM, EXPECTED_FORM]  # no refresh_token grant


@pytest.mark.parametrize("error", ["invalid_client", "invalid_grant"])
async def test_refusal_is_one_sentence_naming_the_client_id(error):
    server = AppRegistrationServer()
    server.refusal = (error, "Client authentication failed.")
    async with app_client(server, client_secret=Secret("wrong-" + SECRET)) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.organizations()
    message = str(info.value)
    assert message == (
        f"DocuWare refused the sign-in of the app registration (client id '{CLIENT_ID}') "
        "at /tenant-1/connect/token: Client authentication failed. "
        "Correct the user name or password, then retry the job."
    )
    assert SECRET not in message and not info.value.retryable and info.value.status == 400
    assert len(server.forms) == 1  # a refusal is not retried


async def test_a_secret_echoed_by_the_server_is_not_repeated():
    server = AppRegistrationServer(echo_secret=True)
    bad = "wrong-" + SECRET
    async with app_client(server, client_secret=Secret(bad)) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.organizations()
    assert bad not in str(info.value) and bad not in info.value.server_message
    assert "Secret *** is wrong" in str(info.value)


async def test_401_signs_in_again_once_and_replays():
    server = AppRegistrationServer()
    async with app_client(server) as client:
        await client.organizations()
        server.tokens.clear()
        client._organizations = None
        assert (await client.organizations())[0].name == "Acme"
    assert server.forms == [EXPECTED_FORM, EXPECTED_FORM]


async def test_second_401_is_an_error_not_a_loop():
    server = AppRegistrationServer()
    server.reject_all = True
    async with app_client(server) as client:
        with pytest.raises(AuthenticationError, match="even after signing in again"):
            await client.organizations()
    assert len(server.forms) == 2


async def test_sixteen_concurrent_requests_after_expiry_trigger_one_sign_in():
    server, clock = AppRegistrationServer(), ManualClock()
    async with app_client(server, clock) as client:
        await client.login()
        clock.now = 4000
        server.tokens.clear()
        results = await asyncio.gather(
            *(client.conn.json("GET", "/DocuWare/Platform/Organizations") for _ in range(16))
        )
    assert all(r == ORGS for r in results)
    assert len(server.forms) == 2


async def test_sixteen_concurrent_401s_trigger_one_sign_in():
    server = AppRegistrationServer()
    async with app_client(server) as client:
        await client.login()
        server.tokens.clear()
        await asyncio.gather(
            *(client.conn.json("GET", "/DocuWare/Platform/Organizations") for _ in range(16))
        )
    assert len(server.forms) == 2


async def test_without_identity_service_the_error_says_why():
    server = AppRegistrationServer(identity=False)
    async with app_client(server) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.organizations()
    assert "no DocuWare Identity Service" in str(info.value)
    assert "auth = client_credentials needs" in str(info.value)
    assert server.logons == []  # never falls back to cookie logon


async def test_secret_never_reaches_logs_errors_or_reprs(caplog):
    caplog.set_level(logging.DEBUG)
    server = AppRegistrationServer()
    async with app_client(server) as client:
        await client.organizations()
        server.tokens.clear()
        client._organizations = None
        await client.organizations()
        shown = repr(client.settings) + repr(client.conn.settings)
    refusing = AppRegistrationServer(echo_secret=True)
    refusing.secret = "rotated-in-docuware"  # ours is refused, and echoed back
    async with app_client(refusing) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.organizations()
    assert "/DocuWare/Platform/Organizations" in caplog.text  # logging does happen
    assert "connect/token" in caplog.text
    for text in (caplog.text, str(info.value), repr(info.value), info.value.server_message, shown):
        assert SECRET not in text
