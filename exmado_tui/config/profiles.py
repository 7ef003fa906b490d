"""Profiles: named job presets read from `NAME.toml` in a list of folders, the first one wins
(`Settings.profile_dirs`: the user's own folder, then the bundled one)."""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from exmado_tui.config.templates import TemplateError, check_template
from exmado_tui.errors import ProfileError

if TYPE_CHECKING:
    from exmado_tui.job.query_source import QuerySource

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
KEYS = (
    "description",
    "cabinet",
    "dialog",
    "sheet",
    "header_row",
    "on_multiple",
    "on_existing",
    "columns",
    "templates",
    "query",
)
QUERY_KEYS = ("cabinet", "dialog", "conditions")
TEMPLATE_KEYS = ("folder", "filename", "format", "unpack_zip", "keep_annotations", "metadata")
# Our format names (profiles, the form, `docuware download --format`) → DocuWare's
# targetFileType: the original file (a ZIP when a document holds several), a PDF, or a ZIP.
Format = Literal["original", "pdf", "zip"]
DOWNLOAD_TARGETS: dict[Format, str] = {"original": "Auto", "pdf": "PDF", "zip": "Zip"}
FORMATS: tuple[Format, ...] = get_args(Format)
# Each document's index fields beside its file (`NAME.json`), in one `index.csv`, or both.
Metadata = Literal["json", "csv"]
METADATA: tuple[Metadata, ...] = get_args(Metadata)
# Several hits for one row: keep them all, the first, the newest, or fail the row.
OnMultiple = Literal["all", "first", "newest", "fail"]
ON_MULTIPLE: tuple[OnMultiple, ...] = get_args(OnMultiple)
# A different file already at the target path: keep it (the row fails), number ours, replace.
OnExisting = Literal["skip_identical", "rename", "overwrite"]
ON_EXISTING: tuple[OnExisting, ...] = get_args(OnExisting)


@dataclass(frozen=True)
class Profile:
    """What to search, how to name what is found, and what to do when it is not simple."""

    name: str
    cabinet: str
    # workbook column → DocuWare field: its DB name in any case, or its label in the search
    # dialog; the row engine resolves it through the dialog before the first search.
    columns: dict[str, str]
    description: str = ""
    dialog: str = ""  # empty: the cabinet's default search dialog
    sheet: str = ""  # empty: the first sheet
    header_row: int = 0  # 0: detect
    folder_template: str = ""
    filename_template: str = ""
    format: Format = "original"
    unpack_zip: bool = False
    keep_annotations: bool = False
    on_multiple: OnMultiple = "all"
    on_existing: OnExisting = "skip_identical"
    # `[templates] metadata`: none, json, csv or both ("none" in the file is the empty tuple)
    metadata: tuple[Metadata, ...] = ()
    # `[query]`: a saved DocuWare query (cabinet: the profile's unless named, dialog,
    # conditions), what `jobs create --query` with no conditions exports
    saved_query: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "metadata" in known:  # as written ("json", a list from JSON); a wrong one is left
            with suppress(ProfileError):  # for check_profile to refuse, naming where it is
                known["metadata"] = metadata_kinds(known["metadata"], "")
        return cls(**known)


def profile_names(folders: Sequence[Path]) -> list[str]:
    """Every profile name found in any of `folders`, sorted, each once."""
    found = {p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.toml")}
    return sorted(name for name in found if profile_path(folders, name) is not None)


def profile_path(folders: Sequence[Path], name: str) -> Path | None:
    """`NAME.toml` in the first of `folders` that has it."""
    return next((f / f"{name}.toml" for f in folders if (f / f"{name}.toml").is_file()), None)


def load_profile(folders: Sequence[Path], name: str) -> Profile:
    """The profile `name` from the first of `folders` that has it (`Settings.profile_dirs`)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ProfileError(
            f"{name!r} is not a profile name; use letters, digits, '.', '_' or '-'"
            f" (known: {_known(folders)})."
        )
    path = profile_path(folders, name)
    if path is None:
        where = " or ".join(str(f) for f in folders)
        raise ProfileError(f"Profile {name!r} not found in {where} (known: {_known(folders)}).")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"Profile file {path} is not valid TOML: {exc}.") from None
    except UnicodeDecodeError:
        raise ProfileError(f"Profile file {path} is not UTF-8 text; save it as UTF-8.") from None
    except OSError as exc:
        raise ProfileError(f"Profile file {path} cannot be read: {exc.strerror}.") from None
    return parse_profile(name, data, str(path))


def _known(folders: Sequence[Path]) -> str:
    return ", ".join(profile_names(folders)) or "none"


def parse_profile(name: str, data: dict[str, Any], where: str) -> Profile:
    """Build a Profile from TOML data, naming the file and key of anything wrong."""
    templates = _table(data, "templates", where)
    columns = _table(data, "columns", where)
    saved_query = _table(data, "query", where)
    _known_keys(data, KEYS, where, "")
    _known_keys(templates, TEMPLATE_KEYS, where, "templates.")
    _known_keys(saved_query, QUERY_KEYS, where, "query.")
    # A missing cabinet or an empty [columns] is refused by check_profile, in one place.
    profile = Profile(
        name=name,
        cabinet=data.get("cabinet", ""),
        columns=columns,
        description=data.get("description", ""),
        dialog=data.get("dialog", ""),
        sheet=data.get("sheet", ""),
        header_row=data.get("header_row", 0),
        folder_template=templates.get("folder", ""),
        filename_template=templates.get("filename", ""),
        format=templates.get("format", "original"),
        unpack_zip=templates.get("unpack_zip", False),
        keep_annotations=templates.get("keep_annotations", False),
        metadata=metadata_kinds(templates.get("metadata", "none"), where),
        on_multiple=data.get("on_multiple", "all"),
        on_existing=data.get("on_existing", "skip_identical"),
        saved_query=saved_query,
    )
    check_profile(profile, where)
    return profile


# Profile field → how errors name it (the key in the profile file).
FILE_KEYS = {
    "folder_template": "templates.folder",
    "filename_template": "templates.filename",
    "format": "templates.format",
    "unpack_zip": "templates.unpack_zip",
    "keep_annotations": "templates.keep_annotations",
    "metadata": "templates.metadata",
}


def check_profile(profile: Profile, where: str) -> None:
    """Refuse, naming `where` and the key, a profile (or a job's settings) that cannot run."""
    for key in (
        "cabinet",
        "description",
        "dialog",
        "sheet",
        "folder_template",
        "filename_template",
    ):
        value = getattr(profile, key)
        if not isinstance(value, str):
            raise ProfileError(f"{where}: {FILE_KEYS.get(key, key)} must be text, got {value!r}.")
    if not profile.cabinet.strip():
        raise ProfileError(f"{where}: cabinet is missing; name the DocuWare file cabinet.")
    if profile.saved_query:
        saved_query(profile, where)  # a profile made for queries needs no [columns]
    if profile.columns or not profile.saved_query:
        _check_columns(profile.columns, where)
    _check_int(profile.header_row, where, "header_row")
    _check_choice(profile.format, FORMATS, where, "templates.format")
    _check_choice(profile.on_multiple, ON_MULTIPLE, where, "on_multiple")
    _check_choice(profile.on_existing, ON_EXISTING, where, "on_existing")
    for key in ("unpack_zip", "keep_annotations"):
        value = getattr(profile, key)
        if not isinstance(value, bool):
            raise ProfileError(f"{where}: {FILE_KEYS[key]} must be true or false, got {value!r}.")
    metadata_kinds(profile.metadata, where)
    try:
        check_template(profile.folder_template, "[templates] folder", folder=True)
        check_template(profile.filename_template, "[templates] filename")
    except TemplateError as exc:
        raise ProfileError(f"{where}: {exc}") from None


def metadata_kinds(value: Any, where: str) -> tuple[Metadata, ...]:
    """`[templates] metadata` as written (none, json, csv, or a list of json and csv) → the
    kinds in a fixed order; anything else refused in one sentence naming the setting."""
    kinds = [value] if isinstance(value, str) else value
    if isinstance(kinds, list | tuple) and all(k in (*METADATA, "none") for k in kinds):
        return tuple(k for k in METADATA if k in kinds)
    raise ProfileError(
        f'{where}: templates.metadata must be "none", "json", "csv" or ["json", "csv"], '
        f"got {value!r}."
    )


def saved_query(profile: Profile, where: str) -> QuerySource | None:
    """The profile's `[query]`, on its own cabinet unless it names one; checked, or None."""
    from exmado_tui.job.query_source import QuerySource  # its conditions: only when there is one

    if not profile.saved_query:
        return None
    return QuerySource.from_dict({"cabinet": profile.cabinet, **profile.saved_query}, where)


def _check_columns(columns: Any, where: str) -> None:
    if not isinstance(columns, dict):
        raise ProfileError(f"{where}: [columns] must be a table, got {columns!r}.")
    if not columns:
        raise ProfileError(f"{where}: [columns] is empty; map at least one column to a field.")
    for column, dw_field in columns.items():
        if not isinstance(column, str) or not column.strip():
            raise ProfileError(f"{where}: [columns] has a column with no name; name it.")
        if not isinstance(dw_field, str) or not dw_field.strip():
            raise ProfileError(
                f"{where}: [columns] {column!r} must name a DocuWare field, got {dw_field!r}."
            )


def _known_keys(data: dict[str, Any], known: tuple[str, ...], where: str, prefix: str) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ProfileError(
                f"{where}: unknown key {prefix}{key}{hint}; known keys: {', '.join(known)}."
            )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: [{key}] must be a table.")
    return value


def _check_int(value: Any, where: str, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProfileError(f"{where}: {key} must be a whole number ≥ 0, got {value!r}.")


def _check_choice(value: Any, allowed: tuple[str, ...], where: str, key: str) -> None:
    if value not in allowed:
        raise ProfileError(f"{where}: {key} must be one of {', '.join(allowed)}, got {value!r}.")


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
        f"metadata = {q(list(profile.metadata)) if profile.metadata else q('none')}",
    ]
    return "\n".join(lines) + "\n"


def save_profile(folders: Sequence[Path], profile: Profile) -> Path:
    """Write `NAME.toml` into the first of `folders` (the user's own); refuse a name that any of
    them already has, so a saved profile never hides or replaces another."""
    if not NAME.fullmatch(profile.name):
        raise ProfileError(f"Profile name {profile.name!r}: use letters, digits, '.', '_' or '-'.")
    existing = profile_path(folders, profile.name)
    if existing is not None:
        raise ProfileError(f"Profile {profile.name!r} already exists at {existing}.")
    folder = folders[0]
    path = folder / f"{profile.name}.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(profile_toml(profile), encoding="utf-8")
    return path
