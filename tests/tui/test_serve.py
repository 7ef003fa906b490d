"""`exmado serve`: the dashboard offered to a browser, on loopback only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from exmado_tui.localredis import free_port


def test_serve_answers_a_browser_on_loopback_only(tmp_path: Path):
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
    finally:
        server.terminate()
        server.wait(10)


def _get_page(port: int) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
