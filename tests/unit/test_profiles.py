"""Profiles: reading the shipped ones, one-sentence errors, and writing them back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exmado_tui.config.profiles import load_profile, parse_profile, profile_names, save_profile
from exmado_tui.errors import ProfileError
from tests.environment import REPO

SHIPPED = REPO / "config" / "profiles"


def test_the_shipped_profiles_load():
    assert {"invoices", "personnel"} <= set(profile_names([SHIPPED]))
    invoices = load_profile([SHIPPED], "invoices")
    assert invoices.cabinet == "Invoices"
    assert invoices.columns == {"Invoice number": "INVOICE_NO"}
    assert invoices.folder_template == "{SUPPLIER}/{DOC_DATE:%Y}"
    assert (invoices.format, invoices.on_multiple) == ("pdf", "all")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"columns": {"A": "B"}}, "cabinet is missing"),
        ({"cabinet": "X"}, "[columns] is empty"),
        ({"cabinet": "X", "columns": {"A": "B"}, "on_multiple": "some"}, "on_multiple must be"),
        (
            {"cabinet": "X", "columns": {"A": "B"}, "templates": {"format": "tiff"}},
            "templates.format must be one of original, pdf, zip",
        ),
        ({"cabinet": "X", "columns": {"A": "B"}, "header_row": -1}, "header_row must be"),
        ({"cabinet": "X", "columns": "A=B"}, "[columns] must be a table"),
        (
            {"cabinet": "X", "columns": {"A": "B"}, "templates": {"metadata": "xml"}},
            'templates.metadata must be "none", "json", "csv" or ["json", "csv"], got \'xml\'.',
        ),
    ],
)
def test_a_wrong_profile_names_file_and_key(data, expected):
    with pytest.raises(ProfileError) as caught:
        parse_profile("p", data, "profiles/p.toml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("profiles/p.toml: ")


@pytest.mark.parametrize(
    ("written", "kinds"),
    [("none", ()), ("json", ("json",)), ("csv", ("csv",)), (["csv", "json"], ("json", "csv"))],
)
def test_metadata_is_none_json_csv_or_both(written: object, kinds: tuple[str, ...]) -> None:
    data = {"cabinet": "X", "columns": {"A": "B"}, "templates": {"metadata": written}}
    profile = parse_profile("p", data, "profiles/p.toml")
    assert profile.metadata == kinds
    assert type(profile).from_dict(json.loads(json.dumps(profile.to_dict()))) == profile


def test_a_broken_profile_file_is_named(tmp_path: Path):
    (tmp_path / "bad.toml").write_text("cabinet = \n")
    with pytest.raises(ProfileError, match=r"bad.toml is not valid TOML"):
        load_profile([tmp_path], "bad")


def test_a_saved_profile_reads_back_the_same(tmp_path: Path):
    original = load_profile([SHIPPED], "invoices")
    renamed = type(original)(
        **{
            **original.to_dict(),
            "name": "copy",
            "description": 'With "quotes" and ümlauts',
            "metadata": ("json", "csv"),
        }
    )
    path = save_profile([tmp_path], renamed)
    assert path == tmp_path / "copy.toml"
    assert load_profile([tmp_path], "copy") == renamed


def test_saving_refuses_odd_names_and_never_overwrites(tmp_path: Path):
    profile = load_profile([SHIPPED], "invoices")
    with pytest.raises(ProfileError, match="use letters, digits"):
        save_profile([tmp_path], type(profile)(**{**profile.to_dict(), "name": "../evil"}))
    save_profile([tmp_path], profile)
    with pytest.raises(ProfileError, match="already exists"):
        save_profile([tmp_path], profile)


def test_the_users_folder_is_searched_first_and_saved_into(tmp_path: Path):
    mine = tmp_path / "mine"  # does not exist yet: saving creates it
    folders = (mine, SHIPPED)
    shipped = load_profile(folders, "invoices")
    with pytest.raises(ProfileError, match=f"already exists at {SHIPPED}"):
        save_profile(folders, shipped)  # never hides a bundled profile by accident
    zipped = type(shipped)(**{**shipped.to_dict(), "name": "invoices-zip", "format": "zip"})
    assert save_profile(folders, zipped) == mine / "invoices-zip.toml"
    assert load_profile(folders, "invoices-zip") == zipped
    assert {"invoices", "invoices-zip", "personnel"} <= set(profile_names(folders))
    shipped_text = (SHIPPED / "invoices.toml").read_text()
    (mine / "invoices.toml").write_text(shipped_text.replace('"pdf"', '"zip"'))
    assert load_profile(folders, "invoices").format == "zip"  # the user's own wins
    assert profile_names(folders).count("invoices") == 1
