"""Sandbox command line: add_arguments(parser) and run(args), mounted as `exmado sandbox`."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from exmado_tui.sandbox.config import AUTH_MODES, FaultSettings, SandboxConfig, parse_user

if TYPE_CHECKING:
    from exmado_tui.sandbox.server import SandboxServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox options to a parser (ours or a sub-command of `exmado`)."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default %(default)s, loopback)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port (default %(default)s; 0 = any free port)"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="seed of the generated data (default %(default)s)"
    )
    parser.add_argument(
        "--documents",
        type=int,
        default=20000,
        help="number of invoices, stored over six years (default %(default)s; 26000 for a "
        "cabinet past DocuWare's 10,000 a search; personnel documents: a tenth of it)",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added to every request, per request"
    )
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="fraction of requests answered 500/503 (0..1)"
    )
    parser.add_argument(
        "--throttle-rps",
        type=float,
        default=0.0,
        help="requests per second per user before 429 + Retry-After (0 = off)",
    )
    parser.add_argument(
        "--throttle-delay-ms",
        type=float,
        default=0.0,
        help="wait before answering a throttled request 429 (DocuWare: about 10000)",
    )
    parser.add_argument(
        "--logons-per-min", type=float, default=0.0, help="sign-ins a minute before 429 (0 = off)"
    )
    parser.add_argument(
        "--cabinets-per-min",
        type=float,
        default=0.0,
        help="cabinet listings a minute per user before 429 (0 = off)",
    )
    parser.add_argument(
        "--token-ttl", type=float, default=3600.0, help="access token lifetime in seconds"
    )
    parser.add_argument(
        "--search-limit",
        type=int,
        default=10000,
        help="most results one search request may ask for; more is 422 (DocuWare: 10000)",
    )
    parser.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default="both",
        help="oauth, cookie (7.4), both (7.10), oauth-only-410 (7.11: Logon → 410)",
    )
    parser.add_argument(
        "--users",
        action="append",
        metavar="NAME:PASS",
        type=_user,
        help="a user that may log on (repeatable; default demo:demo)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")


def _user(text: str) -> tuple[str, str]:
    try:
        return parse_user(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The SandboxConfig the parsed options describe."""
    kwargs: dict[str, Any] = {"users": tuple(args.users)} if args.users else {}
    return SandboxConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        documents=args.documents,
        faults=FaultSettings(
            latency_ms=args.latency_ms,
            error_rate=args.error_rate,
            throttle_rps=args.throttle_rps,
            throttle_delay_ms=args.throttle_delay_ms,
            token_ttl=args.token_ttl,
            logons_per_min=args.logons_per_min,
            cabinets_per_min=args.cabinets_per_min,
            search_limit=args.search_limit,
        ),
        auth=args.auth,
        **kwargs,
    )


def run(args: argparse.Namespace) -> int:
    """Start the sandbox and serve until Ctrl-C; returns the exit code."""
    from exmado_tui.sandbox.server import SandboxServer  # here, not at `exmado`'s start

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(asctime)s %(message)s"
    )
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"exmado sandbox: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    server = SandboxServer(config)
    try:
        server.start()
    except OSError as exc:
        print(
            f"exmado sandbox: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr
        )
        return 1
    print(banner(server, time.perf_counter() - started), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nsandbox stopped.")
    return 0


def banner(server: SandboxServer, seconds: float) -> str:
    """What the sandbox prints when it is up."""
    cfg, faults = server.config, server.config.faults
    users = ", ".join(f"{name} / {password}" for name, password in cfg.users)
    modes = {
        "oauth": "OAuth2 (Identity Service); no Account/Logon",
        "cookie": "cookie logon only (Account/Logon); no Identity Service",
        "both": "OAuth2 (Identity Service) and cookie logon (Account/Logon)",
        "oauth-only-410": "OAuth2 only; Account/Logon answers 410 like DocuWare 7.11",
    }
    return "\n".join(
        [
            f"DocuWare sandbox {cfg.version} listening on {server.url}",
            f"  Platform:     {server.platform_url}",
            f"  Auth:         {modes[cfg.auth]}",
            f"  Credentials:  {users} (OAuth client_id docuware.platform.net.client, "
            "scope docuware.platform)",
            f"  Data:         seed {cfg.seed}, {cfg.documents} invoices, "
            f"{cfg.personnel_documents} personnel documents (ready in {seconds:.2f} s)",
            f"  Faults:       latency {faults.latency_ms:g} ms, error rate {faults.error_rate:g}, "
            f"throttle {faults.throttle_rps:g} rps (429 after {faults.throttle_delay_ms:g} ms), "
            f"token TTL {faults.token_ttl:g} s",
            f"  Admin:        POST {server.url}/_sandbox/faults, GET {server.url}/_sandbox/stats",
            "Press Ctrl-C to stop.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m exmado_tui.sandbox`."""
    parser = argparse.ArgumentParser(
        prog="exmado sandbox", description="Run a DocuWare-compatible sandbox server."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
