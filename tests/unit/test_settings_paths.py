"""Every path setting, secret files included, follows one rule: a relative value is taken from
the folder of the file that sets it, whatever folder the command runs from."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from exmado_tui.config.loading import DEFAULTS_FILE, PATH_KEYS, load_settings
from exmado_tui.config.settings import Settings

# How each path setting shows in Settings: a path, or what a secret file held.
EFFECTIVE: dict[tuple[str, ...], Callable[[Settings], object]] = {
    ("data_dir",): lambda s: s.data_dir,
    ("jobs", "output_root"): lambda s: s.jobs.output_root,
    ("dropfolder", "path"): lambda s: s.dropfolder.path,
    ("profiles", "dir"): lambda s: s.profiles_dir,
    ("profiles", "user_dir"): lambda s: s.user_profiles_dir,
    ("database", "password_file"): lambda s: s.database.password.reveal(),
    ("broker", "password_file"): lambda s: s.broker.password.reveal(),
    ("docuware", "password_file"): lambda s: s.docuware.password.reveal(),
    ("docuware", "client_secret_file"): lambda s: s.docuware.client_secret.reveal(),
    ("docuware", "ca_bundle"): lambda s: Path(s.docuware.ca_bundle),
    ("serve", "token_file"): lambda s: s.serve.token.reveal(),
}
PATH_LIKE = re.compile(r"(^|_)(dir|path|root|file|bundle)$")


def _keys_of(table: dict[str, object], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            found += _keys_of(value, (*prefix, key))
        else:
            found.append((*prefix, key))
    return found


def test_every_key_that_names_a_path_is_a_path_setting():
    defaults = tomllib.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
    path_like = {keys for keys in _keys_of(defaults) if PATH_LIKE.search(keys[-1])}
    assert path_like == PATH_KEYS == set(EFFECTIVE)


@pytest.mark.parametrize("keys", sorted(PATH_KEYS), ids=".".join)
def test_a_relative_path_is_taken_from_the_host_files_folder(
    keys: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config = tmp_path / "site"
    config.mkdir()
    target = config / "secrets" / "value"
    target.parent.mkdir()
    target.write_text("from-the-site-folder\n")
    target.chmod(0o600)
    section = f"[{'.'.join(keys[:-1])}]\n" if len(keys) > 1 else ""
    host = config / "exmado.toml"
    host.write_text(f'{section}{keys[-1]} = "secrets/value"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    effective = EFFECTIVE[keys](load_settings(host, environ={}))
    assert effective in (target, "from-the-site-folder")
