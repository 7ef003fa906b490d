"""One Éxmado site for the `exmado up | status | down` tests: its data folder, its environment,
`exmado` run from elsewhere against it, and the processes supervisord started for it.

A site is a folder: its data folder (with supervisord's state) is `site/data`, and `exmado`
runs from `site/elsewhere`, not the checkout, as an installed package would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def make_site(folder: Path) -> Path:
    (folder / "elsewhere").mkdir()
    return folder


def run_folder(site: Path) -> Path:
    return site / "data" / "run"


def site_env(site: Path, port: int, **extra: str) -> dict[str, str]:
    """This environment with the site's folders and a Redis on `port`; `extra` on top."""
    return {
        **os.environ,
        "EXMADO_DATA_DIR": str(site / "data"),
        "EXMADO_DROP_FOLDER": str(site / "drop"),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        **extra,
    }


def exmado(
    site: Path, env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "exmado_tui.cli", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout, cwd=site / "elsewhere"
    )


def site_processes(site: Path) -> dict[int, str]:
    """pid → program of every live process supervisord started for this site (orphans too):
    by supervisord's socket in the environment, or for Redis (which overwrites its
    environment) by its working folder."""
    marker = f"SUPERVISOR_SERVER_URL=unix://{run_folder(site)}/supervisor.sock".encode()
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if not alive(int(entry.name)):
            continue
        if cwd == site / "data" / "redis":
            found[int(entry.name)] = "redis"
        elif marker in environ:
            names = [v for v in environ if v.startswith(b"SUPERVISOR_PROCESS_NAME=")]
            found[int(entry.name)] = names[0].split(b"=", 1)[1].decode() if names else ""
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie (this container's init may never reap an orphan)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_site(site: Path, env: dict[str, str]) -> None:
    """`exmado down`, then SIGKILL whatever of this site still runs, supervisord first."""
    exmado(site, env, "down")
    pidfile = run_folder(site) / "supervisord.pid"
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (left := site_processes(site)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
