"""The layers under the settings: TOML files tagged with their source, environment values on
top, and `LayerReader` for typed values whose errors name the key and where it came from; and
`Secret`, a value from those layers that never shows itself, read from the environment or from
an owner-only file.

`loading.py` decides which files, variables and keys there are; this module only knows how
to read, stack and check them.
"""

from __future__ import annotations

import difflib
import math
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from exmado_tui.errors import SettingsError

Keys = tuple[str, ...]


def read_toml(path: Path, path_keys: Iterable[Keys]) -> dict[str, Any]:
    """A config file's tables; relative paths under `path_keys` anchored at its folder."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"Config file {path} is not valid TOML: {exc}.") from None
    except OSError as exc:
        raise SettingsError(f"Config file {path} cannot be read: {exc.strerror}.") from None
    _anchor_paths(data, path.parent, path_keys)
    _tag_source(data, str(path))
    return data


def check_layout(
    layer: dict[str, Any],
    reference: dict[str, Any],
    source: str,
    extra: Iterable[Keys] = (),
    prefix: Keys = (),
) -> None:
    """Refuse keys and tables `reference` does not have, and a table where a value goes (or
    the reverse), naming the key and `source`; `extra` lists keys allowed beyond `reference`."""
    extra = tuple(extra)
    for key, value in layer.items():
        if key == "__source__":
            continue
        keys = (*prefix, key)
        if key not in reference:
            if keys in extra:
                continue
            kind = "table" if isinstance(value, dict) and not prefix else "key"
            raise SettingsError(
                f"{source} has an unknown {kind} {_key_name(keys, kind)}"
                + _did_you_mean(key, [k for k in reference if k != "__source__"])
                + "; config/exmado.toml lists every key."
            )
        expected = reference[key]
        if isinstance(expected, dict) and not isinstance(value, dict):
            raise SettingsError(f"[{'.'.join(keys)}] in {source} must be a table, got {value!r}.")
        if isinstance(value, dict) and isinstance(expected, list) and not prefix:
            raise SettingsError(
                f"[{key}] in {source} is one table, but {key} entries are a list of tables: "
                f"write each one as [[{key}]]."
            )
        if isinstance(value, dict) and not isinstance(expected, dict):
            raise SettingsError(
                f"{_key_name(keys, 'key')} in {source} must be a single value, not a table."
            )
        if isinstance(value, dict):
            check_layout(value, expected, source, extra, keys)


def _key_name(keys: Keys, kind: str) -> str:
    if kind == "table" or len(keys) == 1:
        return f"[{keys[0]}]" if kind == "table" else keys[0]
    return f"[{'.'.join(keys[:-1])}] {keys[-1]}"


def _did_you_mean(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _anchor_paths(data: dict[str, Any], folder: Path, path_keys: Iterable[Keys]) -> None:
    for keys in path_keys:
        holder = data
        for key in keys[:-1]:
            holder = holder.get(key, {}) if isinstance(holder, dict) else {}
        value = holder.get(keys[-1]) if isinstance(holder, dict) else None
        if isinstance(value, str) and value:
            path = Path(value).expanduser()
            holder[keys[-1]] = str(path if path.is_absolute() else folder / path)


def _tag_source(data: dict[str, Any], source: str) -> None:
    """Remember which file set each key, so errors can name it."""
    data.setdefault("__source__", {})
    for key, value in list(data.items()):
        if isinstance(value, dict) and key != "__source__":
            value["__source__"] = source
    data["__source__"] = source


def merge(into: dict[str, Any], layer: dict[str, Any]) -> None:
    """Lay `layer` over `into`, table by table."""
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def apply_environment(
    merged: dict[str, Any], env: Mapping[str, str], env_keys: Mapping[str, Keys]
) -> None:
    """Set each key whose variable is set, remembering the variable's name for errors."""
    for name, keys in env_keys.items():
        if env.get(name):
            holder = merged
            for key in keys[:-1]:
                holder = holder.setdefault(key, {})
            holder[keys[-1]] = env[name]
            holder.setdefault("__env__", {})[keys[-1]] = name


class LayerReader:
    """Typed access to the merged layers, with error sentences that name key and source."""

    def __init__(self, merged: dict[str, Any]) -> None:
        self.merged = merged

    def section(self, keys: tuple[str, ...]) -> dict[str, Any]:
        holder = self.merged
        for key in keys:
            holder = holder.get(key, {})
            if not isinstance(holder, dict):
                raise SettingsError(
                    f"[{key}] in the configuration must be a table, got {holder!r}."
                )
        return holder

    def where(self, keys: tuple[str, ...], key: str) -> str:
        holder = self.section(keys)
        name = f"[{'.'.join(keys)}] {key}" if keys else key
        env_name = holder.get("__env__", {}).get(key)
        if env_name:
            return f"{name} (from environment {env_name})"
        return f"{name} in {holder.get('__source__', 'the configuration')}"

    def raw(self, keys: tuple[str, ...], key: str) -> Any:
        holder = self.section(keys)
        if key not in holder:
            raise SettingsError(f"{self.where(keys, key)} is missing.")
        return holder[key]

    def text(self, keys: tuple[str, ...], key: str) -> str:
        value = self.raw(keys, key)
        if not isinstance(value, str):
            raise SettingsError(f"{self.where(keys, key)} must be text, got {value!r}.")
        return value

    def optional_text(self, keys: tuple[str, ...], key: str) -> str:
        return self.text(keys, key) if key in self.section(keys) else ""

    def path(self, keys: tuple[str, ...], key: str) -> Path:
        text = self.text(keys, key)
        if not text.strip():
            # Path("") is the current folder: a store or output tree wherever one happens to be.
            raise SettingsError(f"{self.where(keys, key)} must name a folder, got {text!r}.")
        return Path(text).expanduser().absolute()

    def number(self, keys: tuple[str, ...], key: str, *, positive: bool = False) -> float:
        """A finite number ≥ 0 (> 0 when `positive`); nan and inf are refused too."""
        value = self.raw(keys, key)
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number < 0 or (positive and number == 0):
            bound = "> 0" if positive else "≥ 0"
            raise SettingsError(f"{self.where(keys, key)} must be a number {bound}, got {value!r}.")
        return number

    def count(self, keys: tuple[str, ...], key: str) -> int:
        value = self.raw(keys, key)
        try:
            number = int(str(value)) if not isinstance(value, bool) else 0
        except ValueError:
            number = 0
        if number < 1:
            raise SettingsError(
                f"{self.where(keys, key)} must be a whole number ≥ 1, got {value!r}."
            )
        return number

    def flag(self, keys: tuple[str, ...], key: str) -> bool:
        value = self.raw(keys, key)
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{self.where(keys, key)} must be true or false, got {value!r}.")

    def choice(self, keys: tuple[str, ...], key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(keys, key)
        if value not in allowed:
            raise SettingsError(
                f"{self.where(keys, key)} must be one of {', '.join(allowed)}, got {value!r}."
            )
        return value


# -- secrets ------------------------------------------------------------------------------------

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
