"""A profile file with a user's mistakes: one sentence naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.config.profiles import (
    Profile,
    check_profile,
    load_profile,
    parse_profile,
    profile_names,
)
from exmado_tui.errors import ProfileError

BASE = {"cabinet": "Invoices", "columns": {"Invoice number": "INVOICE_NO"}}


def refused(data: dict) -> str:
    with pytest.raises(ProfileError) as caught:
        parse_profile("p", data, "profiles/p.toml")
    message = str(caught.value)
    assert message.startswith("profiles/p.toml: ") and message.endswith(".")
    return message.removeprefix("profiles/p.toml: ")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({**BASE, "cabinet": ["Invoices"]}, "cabinet must be text, got ['Invoices']."),
        ({**BASE, "cabinet": "  "}, "cabinet is missing; name the DocuWare file cabinet."),
        ({**BASE, "dialog": ["x"]}, "dialog must be text, got ['x']."),
        ({**BASE, "sheet": 5}, "sheet must be text, got 5."),
        (
            {**BASE, "columns": {"Invoice number": ["INVOICE_NO"]}},
            "[columns] 'Invoice number' must",
        ),
        ({**BASE, "columns": {"Invoice number": {"a": 1}}}, "[columns] 'Invoice number' must"),
        ({**BASE, "columns": {"Invoice number": ""}}, "[columns] 'Invoice number' must"),
        ({**BASE, "columns": {"": "INVOICE_NO"}}, "[columns] has a column with no name"),
        ({**BASE, "templates": {"folder": 5}}, "templates.folder must be text, got 5."),
        ({**BASE, "templates": {"unpack_zip": "no"}}, "templates.unpack_zip must be true or false"),
        ({**BASE, "templates": {"keep_annotations": 1}}, "templates.keep_annotations must be true"),
        ({**BASE, "templates": {"filename": "{INVOICE_NO"}}, "[templates] filename '{INVOICE_NO'"),
        ({**BASE, "templates": {"filename": "{DOC_DATE:%Q}"}}, "%Q is not a date format code"),
        ({**BASE, "templates": {"filename": "{X:>>>}"}}, "which is not a valid format"),
        ({**BASE, "templates": {"folder": "../../etc"}}, "must stay inside the output folder"),
        ({**BASE, "templates": {"folder": "/etc/x"}}, "must stay inside the output folder"),
        ({**BASE, "colums": {"A": "B"}}, "unknown key colums (did you mean columns?)"),
        ({**BASE, "on_mutliple": "first"}, "unknown key on_mutliple (did you mean on_multiple?)"),
        ({**BASE, "templates": {"filenme": "{X}"}}, "unknown key templates.filenme (did you"),
        ({**BASE, "templates": "x"}, "[templates] must be a table."),
        (
            {**BASE, "templates": {"filename": "{NUMERO_FACTURA.__class__}"}},
            "'.__class__' is not part of a field or column name",
        ),
        ({**BASE, "templates": {"folder": "{X[0]}"}}, "'[0]' is not part of a field"),
    ],
)
def test_a_wrong_value_names_its_key(data, expected):
    assert expected in refused(data)


def test_a_profile_file_that_is_not_utf8_is_named(tmp_path: Path):
    (tmp_path / "p.toml").write_bytes(b"\xff\xfecabinet = 'x'")
    with pytest.raises(ProfileError) as caught:
        load_profile([tmp_path], "p")
    assert (
        str(caught.value)
        == f"Profile file {tmp_path / 'p.toml'} is not UTF-8 text; save it as UTF-8."
    )


def test_a_folder_named_like_a_profile_is_not_a_profile(tmp_path: Path):
    (tmp_path / "d.toml").mkdir()
    assert profile_names([tmp_path]) == []
    with pytest.raises(ProfileError, match=r"Profile 'd' not found .* \(known: none\)\."):
        load_profile([tmp_path], "d")


@pytest.mark.parametrize("name", ["../invoices", "a/b", "", ".hidden"])
def test_a_profile_name_is_a_plain_name(tmp_path: Path, name: str):
    with pytest.raises(ProfileError, match="is not a profile name"):
        load_profile([tmp_path], name)


def test_check_profile_refuses_a_job_config_of_the_wrong_shape():
    profile = Profile.from_dict({"name": "job", **BASE, "columns": "Invoice number"})
    with pytest.raises(ProfileError, match=r"^the job's settings: \[columns\] must be a table"):
        check_profile(profile, "the job's settings")
    bad_spec = Profile.from_dict({"name": "job", **BASE, "filename_template": "{X:>>>}"})
    with pytest.raises(ProfileError, match="which is not a valid format"):
        check_profile(bad_spec, "the job's settings")


def test_a_stored_job_with_a_glibc_date_code_still_passes_the_check():
    """`job_profile` checks a stored job at every resume: %F rendered before the check came."""
    stored = {"name": "job", **BASE, "folder_template": "{DOC_DATE:%F}/{DOC_DATE:%T}"}
    check_profile(Profile.from_dict(stored), "the job's settings")


QUERY_ONLY = {"cabinet": "Invoices", "query": {"conditions": ["DOC_DATE=2024-01-01.."]}}


def test_a_profile_with_a_saved_query_needs_no_columns():
    profile = parse_profile("p", QUERY_ONLY, "profiles/p.toml")
    assert profile.saved_query == {"conditions": ["DOC_DATE=2024-01-01.."]}
    assert profile.columns == {}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"conditons": ["A=1"]}, "unknown key query.conditons (did you mean conditions?)"),
        ({"conditions": "A=1"}, '[query] conditions must be a list of "FIELD=VALUE" texts.'),
        ({"conditions": ["SUPPLIER"]}, "Condition 'SUPPLIER' must look like FIELD=VALUE."),
        ({"conditions": [], "dialog": 3}, "[query] dialog must be text, got 3."),
    ],
)
def test_a_wrong_saved_query_names_its_key(query, expected):
    assert refused({**QUERY_ONLY, "query": query}).startswith(expected)
