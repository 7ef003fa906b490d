"""JobService.create with a user's mistakes: refused in one sentence, nothing stored."""

from __future__ import annotations

import os

import pytest

from exmado_tui.errors import ProfileError, WorkbookError
from exmado_tui.job.new_job import JobRequest
from exmado_tui.store.models import Job

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
        ({"filename_template": "{INVOICE_NO.__class__}"}, "'.__class__' is not part of a field"),
        ({"folder_template": "{X[0]}"}, "'[0]' is not part of a field or column name"),
        ({"unpack_zip": "no"}, "templates.unpack_zip must be true or false, got 'no'"),
        ({"cabinet": 5}, "cabinet must be text, got 5"),
    ],
)
def test_a_job_config_that_cannot_run_is_refused(service, workbook, config, expected):
    with pytest.raises(ProfileError) as caught:
        service.create(JobRequest(workbook, profile="invoices", config=config))
    message = str(caught.value)
    assert message.startswith("Profile 'invoices' with the job's own settings: ")
    assert expected in message and message.endswith(".")
    assert Job.select().count() == 0


def test_a_config_without_a_profile_is_named_as_the_jobs_settings(service, workbook):
    with pytest.raises(ProfileError, match=r"^The job's settings: \[columns\] 'A' must name"):
        service.create(JobRequest(workbook, config={"cabinet": "Invoices", "columns": {"A": 5}}))


def test_a_folder_given_as_the_workbook_is_named_as_a_folder(service, tmp_path):
    folder = tmp_path / "march.xlsx"
    folder.mkdir()
    with pytest.raises(WorkbookError) as caught:
        service.create(JobRequest(folder, profile="invoices"))
    assert str(caught.value) == f"Workbook {folder} is a folder, not a file."


def test_an_unreadable_workbook_is_one_sentence(service, workbook, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(workbook))

    monkeypatch.setattr("exmado_tui.workbook.checks.read_with_sha256", refuse)
    with pytest.raises(WorkbookError) as caught:
        service.create(JobRequest(workbook, profile="invoices"))
    assert str(caught.value) == f"Workbook {workbook} cannot be read: Permission denied."
    assert Job.select().count() == 0


def test_a_name_that_is_not_utf8_is_one_sentence_naming_it_escaped(service, workbook):
    named = workbook.rename(workbook.with_name(os.fsdecode(b"caf\xe9-latin1.xlsx")))
    with pytest.raises(WorkbookError) as caught:
        service.create(JobRequest(named, profile="invoices"))
    assert str(caught.value) == (
        "Workbook caf\\xe9-latin1.xlsx has a name that is not valid UTF-8 (written in another"
        " system's encoding); rename it and try again."
    )
    assert Job.select().count() == 0


@pytest.mark.parametrize(
    ("lock", "beside"), [("~$march.xlsx", "march.xlsx"), ("~$rch-2024.xlsx", "march-2024.xlsx")]
)
def test_excel_s_lock_file_is_named_as_one_with_its_workbook(service, workbook, lock, beside):
    workbook.rename(workbook.with_name(beside))
    (workbook.parent / lock).write_bytes(b"\x0bjdoe" + bytes(150))
    with pytest.raises(WorkbookError) as caught:
        service.create(JobRequest(workbook.parent / lock, profile="invoices"))
    assert str(caught.value) == (
        f"{lock} is the lock file Excel keeps beside {beside} while it is open, not a workbook;"
        " save and close it in Excel, then use the workbook itself."
    )


def test_a_lock_file_without_its_workbook_names_what_the_workbook_ends_in(service, tmp_path):
    (tmp_path / "~$rch.xlsx").write_bytes(b"\x0bjdoe")
    with pytest.raises(WorkbookError, match=r"beside the workbook whose name ends in rch\.xlsx"):
        service.create(JobRequest(tmp_path / "~$rch.xlsx", profile="invoices"))
