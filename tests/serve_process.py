"""A real `exmado serve` for tests: its process on a free port, its children (one dashboard per
browser session), and a browser's websocket to it (aiohttp, as textual-serve's page speaks)."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import psutil

from exmado_tui.services.localredis import free_port
from tests.environment import NO_REDIS, settings_env

TOKEN = "a-test-token-of-serve-0123456789"
# How long a wait may last: generous, since the suite shares two cores with other work; a wait
# that ends in time costs only what it took.
WAIT_S = 60
PRINTED = re.compile(r"Serving the dashboard at (http://\S+?) ")


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    address: str  # what `exmado serve` printed
    token: str
    printed: str = ""  # on a terminal: all it printed, once it has stopped

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cookies(self) -> dict[str, str]:
        """What a browser holds after opening the printed address."""
        return {f"exmado-serve-{self.port}": self.token}

    def dashboards(self) -> list[psutil.Process]:
        """Every process the server started: a dashboard per open session."""
        return psutil.Process(self.process.pid).children(recursive=True)

    def dashboards_rss(self) -> int:
        return sum(p.memory_info().rss for p in self.dashboards())


@contextmanager
def serving(tmp_path: Path, *args: str, terminal: bool = False, **env: str) -> Iterator[Served]:
    """`exmado serve ARGS` on a free port; on a `terminal` (a pty) it makes and prints its own
    token, else it takes TOKEN from EXMADO_SERVE_TOKEN."""
    port = free_port()
    environ = {**os.environ, **settings_env(tmp_path), "REDIS_URL": NO_REDIS, **env}
    if not terminal:
        environ["EXMADO_SERVE_TOKEN"] = TOKEN
    leader, follower = pty.openpty() if terminal else (-1, subprocess.DEVNULL)
    process = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", "serve", "--port", str(port), *args],
        env=environ,
        stdout=follower,
        stderr=subprocess.STDOUT if terminal else None,
    )
    served = Served(process, port, f"http://127.0.0.1:{port}/", TOKEN)
    try:
        if terminal:
            served.printed = _read_until_address(leader)
            served.address = str(PRINTED.findall(served.printed)[0])
            served.token = served.address.split("token=", 1)[1]
        _await_answer(port, process)
        yield served
    finally:
        process.terminate()
        process.wait(15)
        if terminal:
            os.close(follower)  # type: ignore[arg-type]
            served.printed += _read_to_end(leader)
            os.close(leader)


def _read_until_address(leader: int) -> str:
    seen = b""
    deadline = time.monotonic() + WAIT_S
    while not PRINTED.search(seen.decode(errors="replace")):
        assert time.monotonic() < deadline, seen
        seen += os.read(leader, 4096)
    return seen.decode(errors="replace")


def _read_to_end(leader: int) -> str:
    """What is left to read of a terminal whose process has ended."""
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the other end is closed and drained
            break
        if not chunk:
            break
        seen += chunk
    return seen.decode(errors="replace")


def _await_answer(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        assert process.poll() is None, "exmado serve ended"
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "exmado serve never answered"
            time.sleep(0.1)


async def open_session(
    http: aiohttp.ClientSession, served: Served, origin: str
) -> aiohttp.ClientWebSocketResponse:
    """The page's websocket, as a browser on a page of `origin` opens it."""
    return await http.ws_connect(
        f"ws://127.0.0.1:{served.port}/ws?width=100&height=30", origin=origin
    )


async def screen_until(
    ws: aiohttp.ClientWebSocketResponse, text: str, wait_s: float = WAIT_S
) -> str:
    """The terminal output the session sends from now, read until `text` shows in it."""
    seen = ""
    try:
        async with asyncio.timeout(wait_s):
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    seen += message.data.decode(errors="replace")
                if text in seen:
                    return seen
    except TimeoutError:
        shown = seen[-500:]
        raise AssertionError(f"{text!r} never showed; the screen ends {shown!r}") from None
    raise AssertionError(f"the session ended before {text!r} showed")


async def press(ws: aiohttp.ClientWebSocketResponse, *keys: str) -> None:
    """Keys as the page sends them: a `stdin` envelope each."""
    for key in keys:
        await ws.send_str(json.dumps(["stdin", key]))
