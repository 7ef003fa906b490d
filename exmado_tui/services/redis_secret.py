"""The bundled Redis's password: made once, at the first `exmado up` (or demo) of a data folder,
kept owner-only in `data_dir/redis/password`, and read by every Éxmado process at start.

Without it any local user could read or wipe the queue of a Redis on 127.0.0.1. It reaches
redis-server through an owner-only configuration file and the clients through the settings,
never argv, logs or the screen. It applies only to a broker URL on this machine that names no
password of its own (REDIS_PASSWORD, [broker] password_file or one in the URL win).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote

from exmado_tui.files.folders import private_folder

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
