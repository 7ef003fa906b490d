"""`exmado serve` in a real browser: the system's headless Chromium, driven by Playwright.

The browser opens the address `exmado serve` printed on its terminal, as a user does. xterm.js
draws the terminal on a canvas, so what the dashboard shows is read from what the page's own
websocket received (an init script keeps the page's socket and decodes its frames).
Skipped, saying why, without Chromium (`apt-get install -y chromium`); Playwright's own browser
download is never used.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from exmado_tui.config.settings import Settings
from exmado_tui.store.models import Job
from tests.factories import insert_job
from tests.serve_process import Served, serving
from tests.workbooks import write_workbook

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium: apt-get install -y chromium"
)
driving = pytest.importorskip("playwright.async_api", reason="pip install -e '.[test]'")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
JOB = "Quarterly-Audit"
# Keeps the page's websockets in window.sockets and what they received, as text, in
# window.screen_text.
KEEP_SOCKETS = """
window.sockets = [];
window.screen_text = "";
const Native = window.WebSocket;
const decoder = new TextDecoder();
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args);
    window.sockets.push(this);
    this.addEventListener("message", (event) => {
      const data = event.data;
      window.screen_text += typeof data === "string" ? data : decoder.decode(data);
    });
  }
};
"""
WAIT_MS = 60_000
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")  # a colour or a move between two letters
JS_ANSI = "/\\x1b\\[[0-9;?]*[a-zA-Z]/g"


async def test_the_dashboard_in_chromium_needs_the_token_shows_jobs_and_stays_readonly(
    store: Settings, tmp_path: Path
) -> None:
    insert_job("job-1", name=JOB)
    with serving(tmp_path, "--readonly", terminal=True) as served:
        async with chromium_page() as page:
            await _readonly_in_the_browser(page, served)
    assert Job.get_by_id("job-1").status == "PENDING"


async def test_a_workbook_uploaded_from_the_page_is_where_new_job_browses(
    store: Settings, tmp_path: Path
) -> None:
    """The dashboard runs on the server, so New job wants a path there: the page's bar uploads
    the workbook into the inbox, and the form's Browse (ctrl+o) opens the inbox."""
    workbook = write_workbook(tmp_path / "march-list.xlsx", [["INV-1"]])
    with serving(tmp_path, terminal=True) as served:
        async with chromium_page() as page:
            await page.add_init_script(KEEP_SOCKETS)
            await page.goto(served.address)
            await _shows(page, "New")  # the dashboard is up
            await page.set_input_files("#upload input", str(workbook))
            answer = page.locator("#upload-answer")
            await answer.filter(has_text="Uploaded as").wait_for(timeout=WAIT_MS)
            assert str(store.upload_inbox / "march-list.xlsx") in await answer.inner_text()
            await page.focus(".xterm-helper-textarea")
            await page.keyboard.press("n")
            await _shows(page, "Browse")
            await page.keyboard.press("Control+o")
            await _shows(page, "march-list.xlsx")  # the picker, in the inbox
    assert (store.upload_inbox / "march-list.xlsx").read_bytes() == workbook.read_bytes()


@asynccontextmanager
async def chromium_page() -> AsyncIterator[driving.Page]:
    async with driving.async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def _readonly_in_the_browser(page: driving.Page, served: Served) -> None:
    addresses: list[str] = []
    page.on("request", lambda request: addresses.append(request.url))
    page.on("websocket", lambda ws: addresses.append(ws.url))
    await page.add_init_script(KEEP_SOCKETS)

    refused = await page.goto(served.origin + "/")
    assert refused is not None and refused.status == 403
    assert "needs the token" in await page.inner_text("body")

    opened = await page.goto(served.address)
    assert opened is not None and opened.status == 200
    assert page.url == served.origin + "/"  # the token left the address bar
    await _shows(page, JOB)  # the jobs table
    assert await page.locator("#upload").count() == 0  # read-only: no upload bar

    await page.focus(".xterm-helper-textarea")  # where xterm.js takes the keyboard
    await page.keyboard.press("Enter")  # a key typed into the page opens the job
    await _shows(page, "Job job-1")

    # A control action sent by hand over the page's own websocket: refused, read-only.
    await page.evaluate(f"window.sockets[0].send({json.dumps(json.dumps(['stdin', 'c']))})")
    await _shows(page, "cancel job is disabled")

    here = (f"http://127.0.0.1:{served.port}/", f"ws://127.0.0.1:{served.port}/")
    assert addresses and all(a.startswith(here) for a in addresses), addresses


async def _shows(page: driving.Page, text: str) -> None:
    """`text` arrives on the page's websocket (from now: what came before is dropped)."""
    await page.evaluate("window.screen_text = ''")
    try:
        await page.wait_for_function(
            f"window.screen_text.replace({JS_ANSI}, '').includes({json.dumps(text)})",
            timeout=WAIT_MS,
        )
    except driving.TimeoutError:
        shown = ANSI.sub("", await page.evaluate("window.screen_text"))[-1500:]
        raise AssertionError(f"{text!r} never showed; the screen ends {shown!r}") from None
