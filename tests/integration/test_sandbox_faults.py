"""Sandbox conformance: throttling (429 + Retry-After), injected 5xx, latency, runtime switches."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from exmado_tui.sandbox import FaultSettings, SandboxConfig, SandboxServer

P = "/DocuWare/Platform"


def client_for(server, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=10)


def test_throttled_requests_get_429_and_are_not_executed(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory()
    token = sandbox_login(server.url)
    server.faults.update(throttle_rps=5)
    cab = server.catalogue.invoice_cabinet_id
    with client_for(server, token) as client:
        statuses = [client.get(f"{P}/Organizations").status_code for _ in range(5)]
        assert statuses == [200] * 5
        update = client.put(
            f"{P}/FileCabinets/{cab}/Documents/1/Fields",
            json={"Field": [{"FieldName": "STATUS", "Item": "Throttled"}]},
        )
        assert update.status_code == 429
        assert update.headers["retry-after"] == "1"
        assert update.json()["StatusCode"] == 429 and update.json()["Message"]
    assert server.catalogue.document(cab, 1).values["STATUS"] != "Throttled"


def test_a_throttled_request_is_answered_only_after_the_delay(
    sandbox_factory, sandbox_login
) -> None:
    server = sandbox_factory(faults=FaultSettings(throttle_rps=1, throttle_delay_ms=400))
    with client_for(server, sandbox_login(server.url)) as client:
        assert client.get(f"{P}/Organizations").status_code == 200
        started = time.monotonic()
        throttled = client.get(f"{P}/Organizations")
        waited = time.monotonic() - started
    assert throttled.status_code == 429 and waited >= 0.4
    assert server.faults.snapshot()["throttle_delay_ms"] == 400


def test_throttle_window_reopens_after_retry_after(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory(faults=FaultSettings(throttle_rps=3))
    with client_for(server, sandbox_login(server.url)) as client:
        codes = [client.get(f"{P}/Organizations").status_code for _ in range(6)]
        assert codes.count(429) >= 2
        time.sleep(1.0)  # throttle windows run on time.monotonic: only tokens take a clock
        assert client.get(f"{P}/Organizations").status_code == 200


def test_throttling_is_per_user(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory(users=(("a", "a"), ("b", "b")))
    first, second = sandbox_login(server.url, "a", "a"), sandbox_login(server.url, "b", "b")
    server.faults.update(throttle_rps=2)
    with client_for(server, first) as a, client_for(server, second) as b:
        assert [a.get(f"{P}/Organizations").status_code for _ in range(3)][-1] == 429
        assert b.get(f"{P}/Organizations").status_code == 200


def test_error_rate_one_fails_everything_with_json(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory()
    token = sandbox_login(server.url)
    server.faults.update(error_rate=1.0)
    with client_for(server, token) as client:
        responses = [client.get(f"{P}/Organizations") for _ in range(20)]
    assert {r.status_code for r in responses} <= {500, 503}
    assert all(r.json()["Message"] and r.json()["StatusCode"] in (500, 503) for r in responses)


def test_error_rate_is_a_fraction(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory()
    token = sandbox_login(server.url)
    server.faults.update(error_rate=0.3)
    with client_for(server, token) as client:
        codes = [client.get(f"{P}/Organizations").status_code for _ in range(300)]
    failed = sum(code >= 500 for code in codes) / len(codes)
    assert 0.2 < failed < 0.4
    assert set(codes) <= {200, 500, 503}


def test_latency_is_per_request_and_concurrent(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory()
    token = sandbox_login(server.url)
    clients = [client_for(server, token) for _ in range(8)]
    server.faults.update(latency_ms=200)

    def one(client: httpx.Client) -> float:
        started = time.perf_counter()
        assert client.get(f"{P}/Organizations").status_code == 200
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        durations = list(pool.map(one, clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    assert min(durations) >= 0.2
    assert elapsed < 0.2 * 8 / 2  # the 8 sleeps overlapped instead of queueing


def test_faults_switch_over_http(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory()
    with httpx.Client(base_url=server.url) as admin:
        answer = admin.post("/_sandbox/faults", json={"latency_ms": 120, "throttle_rps": 0})
        assert answer.status_code == 200 and answer.json()["latency_ms"] == 120
        assert server.faults.now.latency_ms == 120
        started = time.perf_counter()
        admin.get(f"{P}")
        assert time.perf_counter() - started >= 0.12
        assert admin.post("/_sandbox/faults", json={"error_rate": 2}).status_code == 400
        assert admin.post("/_sandbox/faults", json={"colour": "red"}).status_code == 400
        assert admin.get("/_sandbox/faults").json()["latency_ms"] == 120
        admin.post("/_sandbox/faults", json={"latency_ms": 0})


def test_stats_over_http_count_per_endpoint_and_reset(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory()
    with client_for(server, sandbox_login(server.url)) as client:
        for _ in range(3):
            client.get(f"{P}/Organizations")
        client.get(f"{P}/FileCabinets")
        stats = client.get("/_sandbox/stats").json()
        assert stats["by_endpoint"]["Organizations"] == 3
        assert stats["by_endpoint"]["FileCabinets"] == 1
        assert stats["by_endpoint"]["Token"] == 1
        assert stats["by_status"]["200"] == stats["requests"] == 5
        client.delete("/_sandbox/stats")
        assert client.get("/_sandbox/stats").json()["requests"] == 0


def test_stopped_server_closes_keep_alive_connections(sandbox_factory) -> None:
    server = sandbox_factory()
    with httpx.Client(base_url=server.url, timeout=2) as client:
        assert client.get(f"{P}").status_code == 200
        server.stop()
        try:
            response = client.get(f"{P}")
        except httpx.TransportError:
            return
        raise AssertionError(f"a stopped sandbox still answered {response.status_code}")


def test_a_throttle_rate_answers_429_at_any_pace(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory()
    token = sandbox_login(server.url)
    server.faults.update(throttle_rate=1.0)
    with client_for(server, token) as client:
        answer = client.get(f"{P}/Organizations")
    assert answer.status_code == 429 and answer.headers["retry-after"] == "1"


def test_downloads_can_be_cut_or_cut_short(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory()
    cab = server.catalogue.invoice_cabinet_id
    path = f"{P}/FileCabinets/{cab}/Documents/1/FileDownload?targetFileType=PDF"
    token = sandbox_login(server.url)
    with client_for(server, token) as client:
        whole = client.get(path)
    assert whole.status_code == 200
    for fault, error in (("cut_rate", httpx.ReadError), ("short_rate", httpx.RemoteProtocolError)):
        server.faults.update(**{"cut_rate": 0, "short_rate": 0, fault: 1.0})
        with client_for(server, token) as client, client.stream("GET", path) as answer:
            assert answer.headers["content-length"] == str(len(whole.content))
            received = bytearray()
            try:
                for chunk in answer.iter_bytes():
                    received += chunk
            except error:
                pass
            else:
                raise AssertionError(f"{fault}: the whole body arrived")
            assert 0 < len(received) < len(whole.content)


def test_faults_start_as_configured_switch_whole_and_reset_to_the_start() -> None:
    start = FaultSettings(latency_ms=5, throttle_rps=3)
    faults = SandboxServer(SandboxConfig(port=0, documents=20, faults=start)).faults
    assert faults.now == start
    assert faults.snapshot() == {**dataclasses.asdict(start), "token_epoch": 0}
    assert faults.update(latency_ms=50, expire_tokens=True)["latency_ms"] == 50
    assert faults.now == FaultSettings(latency_ms=50, throttle_rps=3) and faults.token_epoch == 1
    with pytest.raises(ValueError, match="error_rate"):
        faults.update(latency_ms=1, error_rate=2)
    assert faults.now.latency_ms == 50  # a refused change changes nothing
    faults.reset()
    assert faults.now == start and faults.token_epoch == 1  # tokens stay as they were
