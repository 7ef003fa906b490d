"""Search conditions, escaping, the DialogExpression body and the page-size clamp."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from exmado_tui.docuware.query import (
    MAX_PAGE_SIZE,
    And,
    Empty,
    Exact,
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
