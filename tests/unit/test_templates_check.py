"""check_template: a template that can never render is refused when the profile is read."""

from __future__ import annotations

from datetime import date

import pytest

from exmado_tui.config.templates import TemplateError, Values, check_template, format_value, render


@pytest.mark.parametrize(
    "template",
    [
        "{SUPPLIER}/{DOC_DATE:%Y}",
        "{DOC_DATE:%Y-%m-%d}",
        "{DOC_DATE:%-d.%-m.%Y}",
        "{DOC_DATE:%F}",
        "{DOC_DATE:%e.%m.%Y %T}",
        "{DOC_DATE:%Y%%}",
        "{AMOUNT:.2f}",
        "{ROW:05d}",
        "{NAME:>10}",
        "{Invoice number}",
        "{No.}",
        "{Nro.Factura}",
        "{Amount [EUR]}",
        "plain text",
        "{{literal braces}}",
        "",
    ],
)
def test_good_templates_pass(template: str) -> None:
    check_template(template, "[templates] filename")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{INVOICE_NO", "is malformed (expected '}' before end of string)"),
        ("INVOICE_NO}", "is malformed (Single '}' encountered in format string)"),
        ("{}", "has {} without a name; put a field or column name between the braces"),
        ("{ }", "has {} without a name; put a field or column name between the braces"),
        ("{DOC_DATE:%Q}", "has {DOC_DATE:%Q}, but %Q is not a date format code"),
        ("{DOC_DATE:%Y-%}", "has {DOC_DATE:%Y-%}, but % is not a date format code"),
        ("{DOC_DATE:%Y %:z}", "has {DOC_DATE:%Y %:z}, but %: is not a date format code"),
        ("{X:>>>}", "has {X:>>>}, which is not a valid format"),
        ("{X:.2q}", "has {X:.2q}, which is not a valid format"),
        ("{X!r}", "has {X!r}; conversions such as !r are not supported"),
        ("{X:{Y}}", "has {X:{Y}}; a format cannot hold another {…}"),
        (
            "{NUMERO_FACTURA.__class__}",
            "'.__class__' is not part of a field or column name (nothing is looked up inside a"
            " value): write {NUMERO_FACTURA}",
        ),
        ("{X[0]}", "has {X[0]}; '[0]' is not part of a field or column name"),
        ("{DOC_DATE[1]:%Y}", "'[1]' is not part of a field or column name"),
        ("{X._y}", "'._y' is not part of a field or column name"),
    ],
)
def test_bad_templates_are_refused_in_one_sentence(template: str, expected: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(template, "[templates] filename")
    message = str(caught.value)
    assert message.startswith(f"[templates] filename {template!r} ")
    assert expected in message and message.endswith(".")


@pytest.mark.parametrize(
    "template", ["../{X}", "{X}/../../etc", "/etc/{X}", "\\\\server\\{X}", "C:/x"]
)
def test_a_folder_template_cannot_climb_out_or_be_absolute(template: str) -> None:
    with pytest.raises(TemplateError, match="must stay inside the output folder"):
        check_template(template, "[templates] folder", folder=True)


def test_a_checked_template_renders() -> None:
    check_template("{A:%Y}", "x")
    assert render("{A:%Y}", Values(columns={"A": "2024-03-01"})) == "2024"


@pytest.mark.parametrize(("spec", "expected"), [("%F", "2024-01-05"), ("%e", " 5")])
def test_a_glibc_date_code_that_renders_passes_the_check(spec: str, expected: str) -> None:
    """Workers run on Linux: what `format_value` renders, the check lets through."""
    check_template(f"{{DOC_DATE:{spec}}}", "[templates] filename")
    assert format_value(date(2024, 1, 5), spec) == expected
