"""A secret value that never shows itself, and the owner-only files secrets are read from."""

from __future__ import annotations

import stat
from pathlib import Path

from exmado_tui.errors import SettingsError

# A dataclass field's metadata key: the URL's path holds a secret (a webhook token), so only its
# scheme and host are ever shown.
PATH_IS_SECRET = "path_is_secret"


class Secret:
    """A value that never shows itself in repr, str, logs or JSON.

    `origin` says where it came from, for a sentence (`DOCUWARE_PASSWORD`, or the setting
    naming its file); `source` is that file, which `reread` reads again: a running process
    cannot see its environment change, but it can see a file change.
    """

    __slots__ = ("_value", "origin", "source")

    def __init__(self, value: str, origin: str = "", source: Path | None = None) -> None:
        self._value = value
        self.origin = origin
        self.source = source

    def reveal(self) -> str:
        return self._value

    def reread(self) -> Secret:
        """The secret as its file holds it now; itself when it came from the environment."""
        if self.source is None:
            return self
        return Secret(read_secret_file(self.source, self.origin), self.origin, self.source)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


def read_secret_file(path: Path, where: str) -> str:
    try:
        mode = path.stat().st_mode
    except OSError:
        raise SettingsError(f"{where} names {path}, which does not exist.") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SettingsError(f"{where} names {path}, which others can read; run chmod 600 {path}.")
    return path.read_text(encoding="utf-8").strip()
