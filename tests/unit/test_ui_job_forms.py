"""What the new-job forms check and show (`ui/logic/job_forms.py`): the "From a search" form's
conditions line (written as on the command line, a condition added from a field quoted when it
needs it, an unreadable line refused in one sentence), and the workbook preview's widths."""

from __future__ import annotations

import pytest

from exmado_tui.ui.logic.job_forms import (
    Count,
    SearchForm,
    WorkbookPreview,
    add_condition,
    preview_widths,
    validate_search,
)
from exmado_tui.workbook.reader import SheetRow


def test_a_condition_added_from_a_field_reads_back_as_written() -> None:
    line = add_condition("", "DOC_DATE", "2023-01-01..")
    line = add_condition(line, "SUPPLIER", "ACME Corp*")
    source = SearchForm(cabinet="Invoices", conditions=line).source(12)
    assert source.conditions == ("DOC_DATE=2023-01-01..", "SUPPLIER=ACME Corp*")
    assert source.counted == 12


@pytest.mark.parametrize(
    ("form", "count", "said"),
    [
        (SearchForm(conditions="A=1"), Count(3), "Pick the DocuWare file cabinet to search."),
        (SearchForm("Invoices", conditions="'A=1"), Count(3), "cannot be read"),
        (SearchForm("Invoices", conditions="A"), Count(3), "Condition 'A' must look like"),
        (SearchForm("Invoices"), Count(), "Wait for DocuWare's count"),
        (SearchForm("Invoices"), Count(0), "finds no document"),
        (SearchForm("Invoices"), Count(error="AMOUNT is a decimal field"), "AMOUNT is a"),
    ],
)
def test_an_incomplete_form_says_why(form: SearchForm, count: Count, said: str) -> None:
    assert said in " ".join(validate_search(form, count).values())


def test_an_unreadable_condition_is_said_once() -> None:
    """The count fails on the same line (the screen counts `form.source()`): not said again."""
    form = SearchForm("Invoices", conditions="SUPPLIER")
    with pytest.raises(ValueError) as refused:
        form.source()
    errors = validate_search(form, Count(error=str(refused.value)))
    assert list(errors.values()) == ["Condition 'SUPPLIER' must look like FIELD=VALUE."]


def test_a_counted_search_is_complete() -> None:
    assert validate_search(SearchForm("Invoices", conditions="A=1"), Count(1)) == {}


def test_the_preview_shows_a_value_wider_than_its_header_whole():
    rows = (SheetRow(2, {"Invoice": "INV-000001", "N": "1", "Note": "x" * 80}, "INV-000001"),)
    preview = WorkbookPreview(headers=("Invoice", "N", "Note"), rows=rows)
    assert preview_widths(preview) == [10, 6, 30]  # the value; at least 6; at most 30
