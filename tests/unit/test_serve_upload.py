"""The name a workbook uploaded from the browser is kept under: its last part, plain, .xlsx."""

from __future__ import annotations

import pytest

from exmado_tui.commands.serve_upload import UploadRefused, inbox_name


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("March list.xlsx", "March list.xlsx"),
        ("../../etc/cron.d/job.xlsx", "job.xlsx"),
        ("C:\\Users\\maria\\Desktop\\Liste (2).XLSX", "Liste (2).xlsx"),
        ("évil<script>.xlsx", "évil_script.xlsx"),
        ("..xlsx", "workbook.xlsx"),
        ("a" * 300 + ".xlsx", "a" * 115 + ".xlsx"),
    ],
)
def test_an_uploaded_workbook_keeps_a_plain_name_of_its_own(sent: str, kept: str):
    assert inbox_name(sent) == kept


@pytest.mark.parametrize("sent", ["run.sh", "list.xlsm", "list.xlsx.exe", "xlsx", ""])
def test_only_an_xlsx_is_taken(sent: str):
    with pytest.raises(UploadRefused, match="Only .xlsx workbooks can be uploaded") as refused:
        inbox_name(sent)
    assert refused.value.status == 400
