"""`FIELD=VALUE` conditions checked against DocuWare's field types: dates, date-times, numbers
and decimals in the form DocuWare searches with, ranges open on either side, and one sentence
naming the field for a value its type refuses."""

from __future__ import annotations

import pytest

from exmado_tui.docuware.models import FieldInfo
from exmado_tui.docuware.query import Match, parse_condition


def field(kind: str, name: str = "F") -> FieldInfo:
    return FieldInfo(name, name.title(), kind)


@pytest.mark.parametrize(
    ("text", "kind", "values"),
    [
        ("F=2024-01-01..", "Date", ("2024-01-01", None)),
        ("F=..2024-03-31", "Date", (None, "2024-03-31")),
        ("F=2024-01-01..2024-12-31", "DateTime", ("2024-01-01", "2024-12-31")),
        ("F=2024-01-01T08:30..", "DateTime", ("2024-01-01T08:30:00", None)),
        ("F= 1200 ..", "Numeric", ("1200", None)),
        ("F=..99.5", "Decimal", (None, "99.5")),
        ("F=12.50", "Decimal", ("12.50",)),
        ("F=a (b)*", "Text", ("a \\(b\\)*",)),
        ("F=urgent", "Keyword", ("urgent",)),
        ("F=EMPTY()", "Date", ("EMPTY()",)),
    ],
)
def test_values_take_the_form_of_their_field_type(text: str, kind: str, values: tuple) -> None:
    assert parse_condition(text).condition(field(kind)).values == values


def test_the_field_is_named_by_its_db_name_once_known() -> None:
    wanted = parse_condition("document date=2024-01-01..")
    condition = wanted.condition(FieldInfo("DOC_DATE", "Document date", "Date"))
    assert (wanted.match, condition.field) == (Match.RANGE, "DOC_DATE")


@pytest.mark.parametrize(
    ("text", "kind", "said"),
    [
        (
            "DOC_DATE=2024-13-01..",
            "Date",
            "DOC_DATE is a date field, and '2024-13-01' is not a date",
        ),
        ("DOC_DATE=01.02.2024", "DateTime", "DOC_DATE is a date-time field"),
        ("AMOUNT=12,50", "Decimal", "AMOUNT is a decimal field, and '12,50' is not a number"),
        ("COUNT=..1.5", "Numeric", "COUNT is a numeric field, and '1.5' is not a whole number"),
        ("LINES=x", "Table", "LINES is a table field"),
    ],
)
def test_a_value_its_type_refuses_is_one_sentence_naming_the_field(
    text: str, kind: str, said: str
) -> None:
    name = text.partition("=")[0]
    with pytest.raises(ValueError, match=said) as refused:
        parse_condition(text).condition(field(kind, name))
    assert str(refused.value).startswith(f"Condition {text!r}: ")


@pytest.mark.parametrize("text", ["DOC_DATE", "=x", "DOC_DATE=..", "DOC_DATE= .. "])
def test_a_condition_without_a_field_or_any_end_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        parse_condition(text)
