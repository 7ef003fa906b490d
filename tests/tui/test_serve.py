"""`exmado serve`: the dashboard offered to a browser, on loopback only."""

from __future__ import annotations

import re
import shlex
import socket
from pathlib import Path

import httpx
import psutil
import pytest

from exmado_tui.cli import build_parser
from exmado_tui.commands.serve import dashboard_command
from exmado_tui.services.localredis import free_port
from tests.cli_runner import run
from tests.environment import settings_env
from tests.serve_process import TOKEN, serving


def test_serve_answers_a_browser_on_loopback_only_and_fetches_nothing_elsewhere(tmp_path: Path):
    """A server without internet access still draws the dashboard: the page, its scripts,
    styles and fonts all come from this server."""
    with serving(tmp_path) as served:
        page = httpx.get(served.origin + "/", cookies=served.cookies, timeout=5)
        assert page.status_code == 200
        assert "Éxmado" in page.text
        listening = {
            c.laddr.ip
            for c in psutil.Process(served.process.pid).net_connections("inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == served.port
        }
        assert listening == {"127.0.0.1"}
        here = served.origin + "/"
        fetched = page_references(page.text)
        assert fetched and all(url.startswith(here) for url in fetched), fetched
        assert any(url.endswith(".ttf") for url in fetched)  # the font, served locally
        for url in fetched:
            assert httpx.get(url, timeout=5).status_code == 200, url


def test_serve_trades_the_printed_token_for_a_cookie_and_takes_it_out_of_the_address(
    tmp_path: Path,
):
    """The address printed on a terminal carries a fresh token; opening it sets the cookie and
    leads to the same page without the token, so it stays out of the browser's history."""
    with serving(tmp_path, "--verbose", terminal=True) as served:
        assert served.address.startswith(served.origin + "/?token=")
        answer = httpx.get(served.address + "&fontsize=12", timeout=5)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/?fontsize=12"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"exmado-serve-{served.port}={served.token};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        httpx.get(served.origin + "/?token=a-wrong-token-0123456789", timeout=5)
    # Logging at INFO (--verbose), the token shows once: in the address printed to the terminal.
    assert served.printed.count(served.token) == 1, served.printed
    assert "a-wrong-token" not in served.printed


def test_serve_with_its_output_in_a_file_wants_a_fixed_token(tmp_path: Path, capsys, monkeypatch):
    """A fresh token printed into a log would be a secret in a file: refused in one sentence."""
    _own_folders(monkeypatch, tmp_path)
    code, out, err = run(capsys, "serve", "--port", str(free_port()))
    assert code == 1 and out == ""
    assert err.startswith("exmado: `exmado serve` shows a fresh token only on a terminal")
    assert "EXMADO_SERVE_TOKEN or [serve] token_file" in err


def test_serve_on_a_port_in_use_says_so(tmp_path: Path, capsys, monkeypatch):
    _own_folders(monkeypatch, tmp_path)
    monkeypatch.setenv("EXMADO_SERVE_TOKEN", TOKEN)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, out, err = run(capsys, "serve", "--port", port)
    assert code == 1 and out == ""
    assert err == f"exmado: Port {port} on 127.0.0.1 is in use: choose another with --port.\n"


def _own_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in settings_env(tmp_path).items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    "argv",
    [["serve", "--readonly"], ["--readonly", "serve"], ["serve", "--port", "9", "--readonly"]],
)
def test_serve_hands_readonly_to_every_browser_session_wherever_it_is_given(argv):
    """Each browser tab runs the dashboard command; a watch-only serve must run it watch-only."""
    command = shlex.split(dashboard_command(build_parser().parse_args(argv)))
    assert command[0] == "exec"  # the shell textual-serve starts it with gives way to it
    assert command[-3:] == ["-m", "exmado_tui.cli", "--readonly"]


def test_serve_without_readonly_lets_sessions_act():
    assert "--readonly" not in dashboard_command(build_parser().parse_args(["serve"]))


def page_references(html: str) -> list[str]:
    """Every address the page makes a browser fetch (src=, href=, CSS url())."""
    found = re.findall(r'(?:src|href)\s*=\s*"([^"]+)"|url\(\s*"?([^")]+)"?\s*\)', html)
    return [a or b for a, b in found]
