"""The sandbox imports only the standard library and itself; its CLI starts a working server."""

from __future__ import annotations

import argparse
import subprocess
import sys

import httpx

from exmado_tui.sandbox import cli

CHECK = """
import sys
import exmado_tui.sandbox.server, exmado_tui.sandbox.cli
allowed = set(sys.stdlib_module_names) | {"exmado_tui"}
bad = sorted(name for name in sys.modules
             if name.split(".")[0] not in allowed and not name.startswith("_")
             or (name.startswith("exmado_tui.") and not name.startswith("exmado_tui.sandbox")))
print("\\n".join(bad))
"""


def test_sandbox_imports_only_stdlib_and_itself() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=30
    )
    assert result.stdout.strip() == "", f"sandbox imported: {result.stdout}"


def test_cli_options_and_defaults() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    config = cli.config_from_args(parser.parse_args([]))
    assert (config.host, config.port, config.seed, config.documents) == (
        "127.0.0.1",
        8765,
        42,
        20000,
    )
    assert config.users == (("demo", "demo"),) and config.auth == "both"
    args = parser.parse_args(
        [
            "--port",
            "0",
            "--users",
            "a:b",
            "--users",
            "c:d:e",
            "--auth",
            "oauth-only-410",
            "--throttle-rps",
            "5",
            "--error-rate",
            "0.1",
            "--latency-ms",
            "50",
            "--token-ttl",
            "60",
        ]
    )
    config = cli.config_from_args(args)
    assert config.users == (("a", "b"), ("c", "d:e")) and config.faults.throttle_rps == 5


def test_python_dash_m_serves_and_prints_credentials() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.sandbox", "--port", "0", "--documents", "200"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        url = first.split(" on ")[1].strip()
        banner = "".join(process.stdout.readline() for _ in range(3))
        assert "demo / demo" in banner and "OAuth2" in banner
        assert httpx.get(f"{url}/DocuWare/Platform", timeout=5).json()["Version"]
    finally:
        process.terminate()
        process.wait(10)
