"""Search conditions, escaping, the DialogExpression body and the page-size clamp; `FIELD=VALUE`
conditions checked against DocuWare's field types: dates, date-times, numbers and decimals in
the form DocuWare searches with, ranges open on either side, and one sentence naming the field
for a value its type refuses."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from exmado_tui.docuware.models import FieldInfo
from exmado_tui.docuware.query import (
    MAX_PAGE_SIZE,
    And,
    Empty,
    Exact,
    Match,
    NotEmpty,
    Or,
    Range,
    Wildcard,
    clamp_page_size,
    escape_value,
    expression_body,
    parse_condition,
    parse_sort,
)


def test_escape_parentheses_always_wildcards_on_request():
    assert escape_value("Invoice (incoming)") == "Invoice \\(incoming\\)"
    assert escape_value("a*b?") == "a*b?"
    assert escape_value("a*b?(c)", wildcards=True) == "a\\*b\\?\\(c\\)"


def test_exact_is_literal_and_wildcard_keeps_stars():
    assert Exact("SUPPLIER", "AC*ME (x)").values == ("AC\\*ME \\(x\\)",)
    assert Wildcard("SUPPLIER", "AC*ME (x)").values == ("AC*ME \\(x\\)",)


def test_range_with_open_ends_uses_null_and_iso_dates():
    assert Range("DOC_DATE", date(2024, 1, 1), None).to_json() == {
        "DBName": "DOC_DATE",
        "Value": ["2024-01-01", None],
    }
    assert Range("AMOUNT", None, Decimal("10.5")).values == (None, "10.5")
    assert Range("TS", datetime(2024, 1, 2, 3, 4, 5, 999), None).values[0] == "2024-01-02T03:04:05"
    with pytest.raises(ValueError):
        Range("X", None, None)


def test_empty_and_not_empty_functions():
    assert Empty("NOTES").values == ("EMPTY()",)
    assert NotEmpty("NOTES").values == ("NOTEMPTY()",)


def test_body_and_or_sort_and_clamp():
    body = expression_body(Or(Exact("A", 1), Exact("A", 2)), sort=["DOC_DATE desc"], count=50_000)
    assert body["Operation"] == "Or"
    assert body["Condition"] == [{"DBName": "A", "Value": ["1"]}, {"DBName": "A", "Value": ["2"]}]
    assert body["SortOrder"] == [{"Field": "DOC_DATE", "Direction": "Desc"}]
    assert body["Count"] == MAX_PAGE_SIZE


def test_mapping_query_is_and_of_exacts():
    body = expression_body({"SUPPLIER": "ACME", "STATUS": Empty("STATUS")})
    assert body["Operation"] == "And"
    assert body["Condition"][1] == {"DBName": "STATUS", "Value": ["EMPTY()"]}


def test_groups_cannot_nest():
    with pytest.raises(TypeError):
        And(Or(Exact("A", 1)))  # type: ignore[arg-type]


def test_clamp_page_size_bounds():
    assert clamp_page_size(10_001) == 10_000
    assert clamp_page_size(0) == 1
    assert clamp_page_size(250) == 250


def test_sort_rejects_bad_direction():
    assert parse_sort([("AMOUNT", "asc")]) == [{"Field": "AMOUNT", "Direction": "Asc"}]
    with pytest.raises(ValueError):
        parse_sort(["AMOUNT sideways"])


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("SUPPLIER=ACME", ("ACME",)),
        ("SUPPLIER=AC*", ("AC*",)),
        ("AMOUNT=10..20", ("10", "20")),
        ("AMOUNT=..20", (None, "20")),
        ("DOC_DATE=2024-01-01..", ("2024-01-01", None)),
        ("NOTES=EMPTY()", ("EMPTY()",)),
        ("NOTES=notempty()", ("NOTEMPTY()",)),
        ("SUPPLIER=Foo (Bar)", ("Foo \\(Bar\\)",)),
    ],
)
def test_cli_value_forms(text, values):
    assert parse_condition(text).condition().values == values


def test_cli_rejects_condition_without_equals():
    with pytest.raises(ValueError):
        parse_condition("SUPPLIER")


def test_backslash_is_escaped_so_it_cannot_escape_the_next_character():
    assert escape_value("C:\\in\\(x)") == "C:\\\\in\\\\\\(x\\)"
    assert Exact("PATH", "A\\*").values == ("A\\\\\\*",)
    assert Wildcard("PATH", "A\\B*").values == ("A\\\\B*",)


# --- `FIELD=VALUE` checked against the field's type ------------------------------------


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
