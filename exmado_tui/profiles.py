"""Profiles: named job presets read from `profiles/NAME.toml`."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from exmado_tui.errors import ProfileError

FORMATS = ("original", "pdf", "zip")
ON_MULTIPLE = ("all", "first", "newest", "fail")
ON_EXISTING = ("skip_identical", "rename", "overwrite")


@dataclass(frozen=True)
class Profile:
    """What to search, how to name what is found, and what to do when it is not simple."""

    name: str
    cabinet: str
    columns: dict[str, str]  # workbook column → DocuWare field (DB name)
    description: str = ""
    dialog: str = ""  # empty: the cabinet's default search dialog
    sheet: str = ""  # empty: the first sheet
    header_row: int = 0  # 0: detect
    folder_template: str = ""
    filename_template: str = ""
    format: str = "original"
    unpack_zip: bool = False
    keep_annotations: bool = False
    on_multiple: str = "all"
    on_existing: str = "skip_identical"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def profile_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def load_profile(folder: Path, name: str) -> Profile:
    path = folder / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(profile_names(folder)) or "none"
        raise ProfileError(f"Profile {name!r} not found in {folder} (known: {known}).")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"Profile file {path} is not valid TOML: {exc}.") from None
    return parse_profile(name, data, str(path))


def parse_profile(name: str, data: dict[str, Any], where: str) -> Profile:
    """Build a Profile from TOML data, naming the file and key of anything wrong."""
    templates = _table(data, "templates", where)
    columns = _table(data, "columns", where)
    if not data.get("cabinet"):
        raise ProfileError(f"{where}: cabinet is missing; name the DocuWare file cabinet.")
    if not columns:
        raise ProfileError(f"{where}: [columns] is empty; map at least one column to a field.")
    return Profile(
        name=name,
        cabinet=str(data["cabinet"]),
        columns={str(k): str(v) for k, v in columns.items()},
        description=str(data.get("description", "")),
        dialog=str(data.get("dialog", "")),
        sheet=str(data.get("sheet", "")),
        header_row=_int(data.get("header_row", 0), where, "header_row"),
        folder_template=str(templates.get("folder", "")),
        filename_template=str(templates.get("filename", "")),
        format=_choice(templates.get("format", "original"), FORMATS, where, "templates.format"),
        unpack_zip=bool(templates.get("unpack_zip", False)),
        keep_annotations=bool(templates.get("keep_annotations", False)),
        on_multiple=_choice(data.get("on_multiple", "all"), ON_MULTIPLE, where, "on_multiple"),
        on_existing=_choice(
            data.get("on_existing", "skip_identical"), ON_EXISTING, where, "on_existing"
        ),
    )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: [{key}] must be a table.")
    return value


def _int(value: Any, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProfileError(f"{where}: {key} must be a whole number ≥ 0, got {value!r}.")
    return value


def _choice(value: Any, allowed: tuple[str, ...], where: str, key: str) -> str:
    if value not in allowed:
        raise ProfileError(f"{where}: {key} must be one of {', '.join(allowed)}, got {value!r}.")
    return str(value)


def profile_toml(profile: Profile) -> str:
    """A profile as TOML that `profiles.load_profile` reads back to the same Profile."""
    q = json.dumps  # a JSON string is a valid TOML basic string
    lines = [
        f"description = {q(profile.description)}",
        f"cabinet = {q(profile.cabinet)}",
        f"dialog = {q(profile.dialog)}",
        f"sheet = {q(profile.sheet)}",
        f"header_row = {profile.header_row}",
        f"on_multiple = {q(profile.on_multiple)}",
        f"on_existing = {q(profile.on_existing)}",
        "",
        "[columns]",
        *(f"{q(column)} = {q(dw_field)}" for column, dw_field in profile.columns.items()),
        "",
        "[templates]",
        f"folder = {q(profile.folder_template)}",
        f"filename = {q(profile.filename_template)}",
        f"format = {q(profile.format)}",
        f"unpack_zip = {str(profile.unpack_zip).lower()}",
        f"keep_annotations = {str(profile.keep_annotations).lower()}",
    ]
    return "\n".join(lines) + "\n"


def save_profile(folder: Path, profile: Profile) -> Path:
    """Write `folder/NAME.toml`; refuse to overwrite an existing profile."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", profile.name):
        raise ProfileError(f"Profile name {profile.name!r}: use letters, digits, '.', '_' or '-'.")
    path = folder / f"{profile.name}.toml"
    if path.exists():
        raise ProfileError(f"Profile {profile.name!r} already exists at {path}.")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(profile_toml(profile), encoding="utf-8")
    return path
