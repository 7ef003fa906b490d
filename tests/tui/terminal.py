"""A real terminal for tests: one tmux session on a private server socket."""

from __future__ import annotations

import subprocess
import time


class Terminal:
    """One tmux session on a private server socket."""

    def __init__(self, socket: str, session: str = "exmado") -> None:
        self.base = ["tmux", "-L", socket]
        self.session = session

    def start(self, command: str, width: int = 100, height: int = 30) -> None:
        subprocess.run(
            [
                *self.base,
                "new-session",
                "-d",
                "-s",
                self.session,
                "-x",
                str(width),
                "-y",
                str(height),
                command,
            ],
            check=True,
        )

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", self.session, *keys], check=True)

    def screen(self) -> str:
        done = subprocess.run(
            [*self.base, "capture-pane", "-p", "-t", self.session],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def alive(self) -> bool:
        done = subprocess.run(
            [*self.base, "has-session", "-t", self.session], capture_output=True, check=False
        )
        return done.returncode == 0

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, check=False)
