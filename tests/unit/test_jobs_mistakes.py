"""JobService.create with a user's mistakes: refused in one sentence, nothing stored."""

from __future__ import annotations

import pytest

from exmado_tui.errors import ProfileError, WorkbookError
from exmado_tui.models import Job

MAPPED = {"cabinet": "Invoices", "columns": {"Invoice number": "INVOICE_NO"}}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {**MAPPED, "columns": "Invoice number"},
            "[columns] must be a table, got 'Invoice number'",
        ),
        ({"on_multiple": "bogus"}, "on_multiple must be one of all, first, newest, fail"),
        ({"header_row": "x"}, "header_row must be a whole number ≥ 0, got 'x'"),
        ({"filename_template": "{"}, "[templates] filename '{' is malformed"),
        ({"folder_template": "../../etc"}, "must stay inside the output folder"),
        ({"unpack_zip": "no"}, "templates.unpack_zip must be true or false, got 'no'"),
        ({"cabinet": 5}, "cabinet must be text, got 5"),
    ],
)
def test_a_job_config_that_cannot_run_is_refused(service, workbook, config, expected):
    with pytest.raises(ProfileError) as caught:
        service.create(workbook, profile="invoices", config=config)
    message = str(caught.value)
    assert message.startswith("Profile 'invoices' with the job's own settings: ")
    assert expected in message and message.endswith(".")
    assert Job.select().count() == 0


def test_a_config_without_a_profile_is_named_as_the_jobs_settings(service, workbook):
    with pytest.raises(ProfileError, match=r"^The job's settings: \[columns\] 'A' must name"):
        service.create(workbook, config={"cabinet": "Invoices", "columns": {"A": 5}})


def test_a_folder_given_as_the_workbook_is_named_as_a_folder(service, tmp_path):
    folder = tmp_path / "march.xlsx"
    folder.mkdir()
    with pytest.raises(WorkbookError) as caught:
        service.create(folder, profile="invoices")
    assert str(caught.value) == f"Workbook {folder} is a folder, not a file."


def test_an_unreadable_workbook_is_one_sentence(service, workbook, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(workbook))

    monkeypatch.setattr("exmado_tui.jobs.read_with_sha256", refuse)
    with pytest.raises(WorkbookError) as caught:
        service.create(workbook, profile="invoices")
    assert str(caught.value) == f"Workbook {workbook} cannot be read: Permission denied."
    assert Job.select().count() == 0
