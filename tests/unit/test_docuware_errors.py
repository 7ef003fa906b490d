"""Retries: Retry-After forms, the shared throttle gate, 5xx backoff, giving up, idempotency."""

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from exmado_tui.config.settings import DocuWareSettings, Secret
from exmado_tui.docuware.budget import LocalBudget
from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.errors import (
    DocuWareNetworkError,
    RetryPolicy,
    ServerError,
    ThrottledError,
    network_error,
    parse_retry_after,
)

SETTINGS = DocuWareSettings(
    url="http://dw.test",
    username="alice",
    password=Secret("pw"),
    auth="cookie",
    max_attempts=3,
    throttle_default_wait_s=7,
)


class FakeTime:
    """A clock that only moves when someone sleeps; sleeps can be held until released."""

    def __init__(self, hold: bool = False) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.hold = hold
        self.release = asyncio.Event()
        self.sleeping = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sleeping += 1
        if self.hold:
            await self.release.wait()
        else:
            self.now += seconds
        self.sleeping -= 1
        await asyncio.sleep(0)


def make_client(handler, fake: FakeTime, **settings_changes) -> AsyncDocuWareClient:
    from dataclasses import replace

    return AsyncDocuWareClient(
        replace(SETTINGS, **settings_changes),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(
            max_attempts=settings_changes.get("max_attempts", 3),
            throttle_default_wait_s=7,
            backoff_base_s=0.5,
        ),
        clock=fake.clock,
        sleep=fake.sleep,
    )


def test_retry_after_seconds_and_http_date():
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5", now) == 5
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now) == 30
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan", now) is None and parse_retry_after("inf", now) is None
    assert (
        RetryPolicy(throttle_default_wait_s=7).throttle_wait(
            httpx.Response(429, headers={"Retry-After": "NaN"}), now
        )
        == 7
    )  # the default wait, not no wait at all


async def test_429_waits_retry_after_then_succeeds():
    fake, calls = FakeTime(), []

    def handler(request):
        calls.append(fake.now)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "3"}, json={"Message": "slow"})
        return httpx.Response(200, json={"Version": "7.11"})

    async with make_client(handler, fake) as client:
        assert (await client.service_description()).version == "7.11"
    assert calls[1] - calls[0] == 3


async def test_429_without_retry_after_uses_configured_default():
    fake, calls = FakeTime(), []

    def handler(request):
        calls.append(fake.now)
        return httpx.Response(429) if len(calls) == 1 else httpx.Response(200, json={})

    async with make_client(handler, fake) as client:
        await client.service_description()
    assert calls[1] - calls[0] == 7


async def test_429_http_date_retry_after_is_honoured():
    fake, calls = FakeTime(), []
    future = datetime.now(UTC).timestamp() + 20

    def handler(request):
        calls.append(fake.now)
        if len(calls) == 1:
            stamp = datetime.fromtimestamp(future, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
            return httpx.Response(429, headers={"Retry-After": stamp})
        return httpx.Response(200, json={})

    async with make_client(handler, fake) as client:
        await client.service_description()
    assert 17 <= calls[1] - calls[0] <= 21


async def test_throttle_gate_holds_back_other_requests():
    fake = FakeTime(hold=True)
    seen: list[tuple[str, float]] = []

    def handler(request):
        seen.append((request.url.path, fake.now))
        if request.url.path == "/a" and len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "5"})
        return httpx.Response(200, json={})

    async with make_client(handler, fake) as client:
        task_a = asyncio.create_task(client.conn.request("GET", "/a", authenticated=False))
        for _ in range(100):
            if fake.sleeping:
                break
            await asyncio.sleep(0)
        assert fake.sleeping == 1, "A should be waiting at the gate"
        task_b = asyncio.create_task(client.conn.request("GET", "/b", authenticated=False))
        for _ in range(20):
            await asyncio.sleep(0)
        assert [p for p, _ in seen] == ["/a"], "B was sent while the gate was closed"
        assert fake.sleeping == 2
        fake.now += 5
        fake.release.set()
        await asyncio.gather(task_a, task_b)
    assert sorted(p for p, _ in seen[1:]) == ["/a", "/b"]
    assert all(t >= 1005 for _, t in seen[1:])


async def test_5xx_backs_off_then_succeeds():
    fake, statuses = FakeTime(), [503, 502]

    def handler(request):
        if statuses:
            return httpx.Response(statuses.pop(0), json={"Message": "busy"})
        return httpx.Response(200, json={"Version": "1"})

    async with make_client(handler, fake) as client:
        await client.service_description()
    assert len(fake.sleeps) == 2
    assert 0.25 <= fake.sleeps[0] <= 0.5 and 0.5 <= fake.sleeps[1] <= 1.0


async def test_gives_up_after_max_attempts():
    fake, calls = FakeTime(), []

    def handler(request):
        calls.append(1)
        return httpx.Response(500, json={"Message": "Database is down."})

    async with make_client(handler, fake) as client:
        with pytest.raises(ServerError) as info:
            await client.service_description()
    assert len(calls) == 3
    assert info.value.retryable
    assert str(info.value) == "DocuWare answered 500 for /DocuWare/Platform: Database is down."


async def test_429_gives_up_with_retry_after():
    fake = FakeTime()

    def handler(request):
        return httpx.Response(429, headers={"Retry-After": "2"})

    async with make_client(handler, fake) as client:
        with pytest.raises(ThrottledError) as info:
            await client.service_description()
        budget = client.conn.budget  # without Redis: the process's own
        assert isinstance(budget, LocalBudget) and budget.gate.remaining == 2  # holds the others
    assert info.value.retry_after == 2
    assert info.value.retryable


async def test_non_idempotent_post_is_not_retried_on_5xx():
    fake, calls = FakeTime(), []

    def handler(request):
        calls.append(1)
        return httpx.Response(502)

    async with make_client(handler, fake) as client:
        with pytest.raises(ServerError):
            await client.conn.request("POST", "/x", authenticated=False)
        assert len(calls) == 1
        calls.clear()
        with pytest.raises(ServerError):
            await client.conn.request("POST", "/x", authenticated=False, idempotent=True)
        assert len(calls) == 3


async def test_non_idempotent_post_is_retried_on_429():
    fake, calls = FakeTime(), []

    def handler(request):
        calls.append(1)
        return (
            httpx.Response(429, headers={"Retry-After": "1"})
            if len(calls) == 1
            else (httpx.Response(200, json={}))
        )

    async with make_client(handler, fake) as client:
        await client.conn.request("POST", "/x", authenticated=False)
    assert len(calls) == 2


async def test_connect_error_retried_and_read_timeout_on_post_not():
    fake, calls = FakeTime(), []

    def handler(request):
        calls.append(request.method)
        if request.method == "GET" and len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        if request.method == "POST":
            raise httpx.ReadTimeout("read timed out", request=request)
        return httpx.Response(200, json={})

    async with make_client(handler, fake) as client:
        await client.service_description()
        assert calls == ["GET", "GET"]
        with pytest.raises(DocuWareNetworkError) as info:
            await client.conn.request("POST", "/DocuWare/Platform/x", authenticated=False)
    assert calls.count("POST") == 1
    assert "/DocuWare/Platform/x timed out" in str(info.value)
    assert info.value.retryable


async def test_network_error_gives_up_after_max_attempts():
    fake, calls = FakeTime(), []

    def handler(request):
        calls.append(1)
        raise httpx.ReadError("connection reset by peer", request=request)

    async with make_client(handler, fake) as client:
        with pytest.raises(DocuWareNetworkError):
            await client.service_description()
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("url", "raised", "said"),
    [
        (
            "http://dw.test/DocuWare/Platform",
            "Cannot connect to host dw.test:80 ssl:default [Connect call failed]",
            "(Cannot connect to host dw.test:80 [Connect call failed]).",
        ),
        (
            "https://dw.test/DocuWare/Platform",
            "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
            "; it may be a plain http:// server: check the scheme of [docuware] url.",
        ),
    ],
)
def test_a_network_error_is_said_without_aiohttp_s_tls_setting_and_with_a_hint_for_the_scheme(
    url: str, raised: str, said: str
) -> None:
    sentence = str(network_error(httpx.ConnectError(raised), httpx.URL(url)))
    assert sentence.startswith("DocuWare at ") and sentence.endswith(said)
