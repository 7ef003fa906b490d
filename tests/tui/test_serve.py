"""`exmado serve`: the dashboard offered to a browser, on loopback only."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from exmado_tui.cli import build_parser
from exmado_tui.commands.serve import dashboard_command
from exmado_tui.localredis import free_port


def test_serve_answers_a_browser_on_loopback_only_and_fetches_nothing_elsewhere(tmp_path: Path):
    """A server without internet access still draws the dashboard: the page, its scripts,
    styles and fonts all come from this server."""
    port = free_port()
    env = {**os.environ, "EXMADO_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = _get_page(port)
        assert page.status_code == 200
        assert "Éxmado" in page.text
        listening = {
            c.laddr.ip
            for c in psutil.Process(server.pid).net_connections("inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        }
        assert listening == {"127.0.0.1"}
        here = f"http://127.0.0.1:{port}/"
        fetched = page_references(page.text)
        assert fetched and all(url.startswith(here) for url in fetched), fetched
        assert any(url.endswith(".ttf") for url in fetched)  # the font, served locally
        for url in fetched:
            assert httpx.get(url, timeout=5).status_code == 200, url
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize(
    "argv",
    [["serve", "--readonly"], ["--readonly", "serve"], ["serve", "--port", "9", "--readonly"]],
)
def test_serve_hands_readonly_to_every_browser_session_wherever_it_is_given(argv):
    """Each browser tab runs the dashboard command; a watch-only serve must run it watch-only."""
    command = shlex.split(dashboard_command(build_parser().parse_args(argv)))
    assert command[-3:] == ["-m", "exmado_tui.cli", "--readonly"]


def test_serve_without_readonly_lets_sessions_act():
    assert "--readonly" not in dashboard_command(build_parser().parse_args(["serve"]))


def page_references(html: str) -> list[str]:
    """Every address the page makes a browser fetch (src=, href=, CSS url())."""
    found = re.findall(r'(?:src|href)\s*=\s*"([^"]+)"|url\(\s*"?([^")]+)"?\s*\)', html)
    return [a or b for a, b in found]


def _get_page(port: int) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
