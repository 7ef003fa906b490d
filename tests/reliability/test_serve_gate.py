"""`exmado serve` against another web page and a greedy client: a real server process, a real
websocket client (aiohttp, speaking as textual-serve's page does), the store read back.

Each attack counts as a security case in the suite's line: no token, a wrong token, another
site's page opening the websocket, sessions over the limit, the keys of a read-only dashboard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest

from exmado_tui.config.settings import Settings
from exmado_tui.store.models import Job
from tests.factories import insert_job
from tests.reliability.tally import Tally
from tests.serve_process import Served, open_session, press, screen_until, serving
from tests.workbooks import write_workbook

MB = 1024 * 1024
JOB = "Quarterly-Audit"  # the job's name, which shows once the dashboard has drawn its table
DASHBOARD_RSS = 200 * MB  # one dashboard process holds about 75 MB
EVIL = "http://evil.example"
# Every control key of the jobs screen and the action its read-only notice names.
CONTROL_KEYS = {
    "c": "cancel job",
    "d": "delete",
    "F": "fail",
    "T": "terminate",
    "p": "pause",
    "r": "resume",
    "R": "retry",
    "s": "start",
}


async def refused_status(served: Served, origin: str, cookies: dict[str, str]) -> int:
    """The status a websocket attempt got, 101 when it was let in."""
    async with aiohttp.ClientSession(cookies=cookies) as http:
        try:
            ws = await open_session(http, served, origin)
        except aiohttp.WSServerHandshakeError as refused:
            return refused.status
        await ws.close()
        return 101


async def test_serve_lets_no_one_in_without_the_token_or_from_another_site(
    store: Settings, tmp_path: Path, tally: Tally
) -> None:
    insert_job("job-1", name=JOB)
    with serving(tmp_path) as served:
        own, wrong = served.cookies, {name: "x" * 32 for name in served.cookies}
        page = httpx.get(served.origin + "/", timeout=5)
        wrong_page = httpx.get(served.origin + "/?token=" + "x" * 32, timeout=5)
        attempts = {
            "serve: websocket without the token": await refused_status(served, served.origin, {}),
            "serve: websocket with a wrong token": await refused_status(
                served, served.origin, wrong
            ),
            "serve: websocket from another site's page": await refused_status(served, EVIL, own),
            "serve: websocket without an Origin": await refused_status(served, "", own),
        }
        started = served.dashboards()
    held = {
        "serve: page without the token": page.status_code == 403 and "token" in page.text,
        "serve: page with a wrong token": wrong_page.status_code == 403
        and "not the one" in wrong_page.text,
        **{kind: status == 403 for kind, status in attempts.items()},
    }
    for kind, ok in held.items():
        tally.security(kind, held=ok and not started)
    assert held == dict.fromkeys(held, True), attempts
    assert started == []  # no dashboard process for anyone refused
    assert Job.get_by_id("job-1").status == "PENDING"


async def test_serve_holds_browser_sessions_to_its_limit_with_a_page_saying_so(
    store: Settings, tmp_path: Path, tally: Tally
) -> None:
    insert_job("job-1", name=JOB)
    config = tmp_path / "serve.toml"
    config.write_text("[serve]\nsessions = 2\n", encoding="utf-8")
    with serving(tmp_path, EXMADO_CONFIG=str(config)) as served:
        async with aiohttp.ClientSession(cookies=served.cookies) as http:
            first, second = [await open_session(http, served, served.origin) for _ in range(2)]
            await asyncio.gather(screen_until(first, JOB), screen_until(second, JOB))
            over = [await refused_status(served, served.origin, served.cookies) for _ in range(5)]
            full = httpx.get(served.origin + "/", cookies=served.cookies, timeout=5)
            dashboards, rss = len(served.dashboards()), served.dashboards_rss()
            await first.close()
            await _until_dashboards(served, 1)
            freed = httpx.get(served.origin + "/", cookies=served.cookies, timeout=5)
    held = over == [503] * 5 and dashboards == 2 and rss < 2 * DASHBOARD_RSS
    page_clear = full.status_code == 503 and "[serve] sessions" in full.text
    tally.security("serve: sessions over the limit", held=held and page_clear)
    assert over == [503] * 5
    assert dashboards == 2 and rss < 2 * DASHBOARD_RSS, (dashboards, rss / MB)
    assert page_clear, full.text
    assert freed.status_code == 200  # a closed tab gives its place back


@pytest.mark.parametrize("readonly", [False, True], ids=["acting", "readonly"])
async def test_a_readonly_serve_refuses_every_control_key(
    store: Settings, tmp_path: Path, tally: Tally, readonly: bool
) -> None:
    """The keys a page sends by hand over its websocket: a dashboard served read-only refuses
    each with its notice; served normally, the same keys cancel the job (so they did arrive)."""
    insert_job("job-1", name=JOB)
    with serving(tmp_path, *(["--readonly"] if readonly else [])) as served:
        async with aiohttp.ClientSession(cookies=served.cookies) as http:
            ws = await open_session(http, served, served.origin)
            await screen_until(ws, JOB)
            if readonly:
                for key, action in CONTROL_KEYS.items():
                    await press(ws, key)
                    await screen_until(ws, f"{action} is disabled")
                    await press(ws, "y")  # the answer to a dialog, had one opened
                upload = httpx.post(
                    served.origin + "/upload",
                    files={"workbook": ("a.xlsx", b"PK\x03\x04")},
                    headers={"Origin": served.origin},
                    cookies=served.cookies,
                    timeout=30,
                )
            else:
                await press(ws, "c")
                await screen_until(ws, f"({JOB})?")  # the dialog asks
                await press(ws, "y")
                await _until_status("job-1", "CANCELLED")
    status = Job.get_by_id("job-1").status
    if readonly:
        tally.security("serve: control keys on a read-only dashboard", held=status == "PENDING")
        tally.security("serve: an upload to a read-only dashboard", held=upload.status_code == 403)
        assert upload.status_code == 403 and "read-only" in upload.text
        assert not store.upload_inbox.exists()
    assert status == ("PENDING" if readonly else "CANCELLED")


PART_HEAD = (
    b'Content-Disposition: form-data; name="workbook"; filename="big.xlsx"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
)


def _endless_zip(head: bytes) -> Iterator[bytes]:
    """A form whose workbook never ends (the server must stop reading it)."""
    yield head + b"PK\x03\x04"
    for _ in range(64):  # 4 MB in all, four times the limit; the server stops at one
        yield bytes(64 * 1024)


async def _until_dashboards(served: Served, count: int) -> None:
    while len(served.dashboards()) != count:
        await asyncio.sleep(0.1)


async def _until_status(job_id: str, status: str) -> None:
    while Job.get_by_id(job_id).status != status:
        await asyncio.sleep(0.1)


def test_serve_takes_an_uploaded_workbook_only_from_its_own_page_bounded_and_renamed(
    store: Settings, tmp_path: Path, tally: Tally
) -> None:
    """The upload route: the token and the page's origin as the websocket; an .xlsx with a ZIP
    inside, at most [serve] upload_max_mb, under a plain name inside the inbox, or nothing."""
    workbook = write_workbook(tmp_path / "list.xlsx", [["INV-1"]]).read_bytes()
    config = tmp_path / "serve.toml"
    config.write_text("[serve]\nupload_max_mb = 1\n", encoding="utf-8")
    inbox = store.upload_inbox
    with serving(tmp_path, EXMADO_CONFIG=str(config)) as served:

        def upload(name: str, body: bytes, origin: str = served.origin, **kw: object):
            files = {"workbook": (name, body)}
            headers = {"Origin": origin}
            return httpx.post(
                served.origin + "/upload", files=files, headers=headers, timeout=30, **kw
            )

        own = {"cookies": served.cookies}
        attacks = {
            "serve upload: without the token": upload("a.xlsx", workbook),
            "serve upload: from another site's page": upload("a.xlsx", workbook, EVIL, **own),
            "serve upload: over upload_max_mb": upload(
                "a.xlsx", b"PK\x03\x04" + bytes(2 * MB), **own
            ),
            "serve upload: not a workbook": upload("a.xlsx", b"root:x:0:0:root", **own),
            "serve upload: not .xlsx": upload("run.sh", workbook, **own),
        }
        streamed = httpx.post(  # no Content-Length: cut while it streams
            served.origin + "/upload",
            content=_endless_zip(b"--edge\r\n" + PART_HEAD),
            headers={"Origin": served.origin, "Content-Type": "multipart/form-data; boundary=edge"},
            cookies=served.cookies,
            timeout=30,
        )
        attacks["serve upload: streamed past upload_max_mb"] = streamed
        nothing_left = sorted(p.name for p in inbox.iterdir()) if inbox.exists() else []
        escaping = upload("../../outside/évil<>.xlsx", workbook, **own)
    expected = [403, 403, 413, 400, 400, 413]
    for (kind, answer), status in zip(attacks.items(), expected, strict=True):
        tally.security(kind, held=answer.status_code == status and not nothing_left)
    kept = sorted(p.name for p in inbox.iterdir())
    renamed = escaping.status_code == 200 and kept == ["évil.xlsx"]
    tally.security("serve upload: a name with folders in it", held=renamed)
    assert [a.status_code for a in attacks.values()] == expected
    assert "upload_max_mb" in attacks["serve upload: over upload_max_mb"].text
    assert nothing_left == [] and renamed, (nothing_left, kept, escaping.text)
    assert (inbox / "évil.xlsx").read_bytes() == workbook
    assert (inbox / "évil.xlsx").stat().st_mode & 0o077 == 0  # owner-only
    assert not (tmp_path / "outside").exists()
