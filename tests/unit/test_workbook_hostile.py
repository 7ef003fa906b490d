"""The reader against the hostile corpus: each refusal one sentence naming the limit's setting,
formulas without a saved value counted and failed, declared sizes not trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.config.loading import load_settings
from exmado_tui.errors import WorkbookError
from exmado_tui.workbook.checks import WorkbookLimits
from exmado_tui.workbook.reader import open_workbook
from tests.reliability.hostile import CASES, HEADER, Case

KEYS = ["INV-1", "INV-2", "INV-3"]
SMALL = [c for c in CASES if not c.big]


def read(path: Path, **options: object) -> list:
    with open_workbook(path, [HEADER], **options) as reader:
        return list(reader.rows())


@pytest.mark.parametrize("case", SMALL, ids=[c.name for c in SMALL])
def test_each_small_hostile_input_is_read_or_refused_in_one_sentence(
    case: Case, tmp_path: Path
) -> None:
    path = case.build(tmp_path, KEYS)
    if case.refusal and "no data rows" not in case.refusal:
        with pytest.raises(WorkbookError) as caught:
            read(path)
        message = str(caught.value)
        assert case.refusal in message, message
        assert message.endswith(".") and "\n" not in message and "\\x" not in message
        return
    rows = read(path)
    assert len(rows) == case.rows
    failed = [r for r in rows if r.error]
    assert len(failed) == case.failed
    assert all(case.failure in r.error for r in failed)


def test_a_formula_without_a_saved_value_is_a_failed_row_not_a_blank_one(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "formula without saved value")
    rows = read(case.build(tmp_path, KEYS))
    assert [r.number for r in rows] == [2, 3, 4, 5]
    assert rows[-1].error == (
        "Row 5: cell A5 is a formula with no saved value: open and save the workbook in Excel."
    )


@pytest.mark.timeout(30)
def test_a_declared_dimension_of_the_whole_sheet_costs_only_the_cells_there(
    tmp_path: Path,
) -> None:
    case = next(c for c in CASES if c.name == "declares A1:XFD1048576")
    rows = read(case.build(tmp_path, KEYS))
    assert [(r.number, r.key) for r in rows] == [(2, "INV-1"), (1048576, "INV-2")]


@pytest.mark.parametrize(
    "name", ["200 MB cell (zip bomb)", "120 MB of whitespace", "1 MB cell", "20 MB of styles"]
)
def test_a_zip_bomb_is_refused_before_parsing_naming_the_setting(name: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == name)
    with pytest.raises(WorkbookError) as caught:
        read(case.build(tmp_path, KEYS))
    assert f"[workbooks] {case.refusal} in config/exmado.toml raises the limit." in str(
        caught.value
    )


def test_a_raised_limit_lets_the_same_workbook_through(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "a value in column XFD")
    path = case.build(tmp_path, KEYS)
    rows = read(path, limits=WorkbookLimits(max_columns=16384))
    assert [r.key for r in rows] == [*KEYS, ""]


def test_the_shared_strings_of_a_huge_table_are_read_into_a_small_buffer(tmp_path: Path) -> None:
    from exmado_tui.workbook.sheet_rows import SharedStrings

    strings = SharedStrings(None, lambda: None)
    for text in ["", "INV-1", "Société", "😀"]:
        strings.append(text)
    assert [strings[i] for i in range(len(strings))] == ["", "INV-1", "Société", "😀"]


def test_the_limits_come_from_the_workbooks_table_of_the_settings(tmp_path: Path) -> None:
    host = tmp_path / "host.toml"
    host.write_text("[workbooks]\nmax_columns = 50\nmax_unpacked_mb = 10\n")
    limits = load_settings(host, environ={}).workbooks
    assert (limits.max_columns, limits.max_unpacked_mb, limits.max_cell_chars) == (50, 10, 32767)


def test_the_header_search_reads_the_first_rows_by_number_not_the_whole_sheet(
    tmp_path: Path,
) -> None:
    from tests.reliability.hostile import key_rows, raw_xlsx, row_xml, text_cell

    # Blank rows are not in the file: counting 30 rows read on to row 100 and its damage.
    rows = key_rows(["INV-1"]) + row_xml(100, text_cell("A100", "INV-2")) + '<row r="1'
    path = raw_xlsx(tmp_path / "tail.xlsx", rows)
    with open_workbook(path, [HEADER]) as reader, pytest.raises(WorkbookError) as caught:
        assert reader.layout.header_row == 1
        list(reader.rows())
    assert "is damaged" in str(caught.value)


def test_the_shared_strings_are_parsed_only_as_far_as_the_cells_read_need(tmp_path: Path) -> None:
    from tests.reliability.hostile import key_rows, raw_xlsx, row_xml

    used = row_xml(2, '<c r="A2" t="s"><v>0</v></c>') + row_xml(40, '<c r="A40" t="s"><v>3</v></c>')
    strings = "<si><t>INV-1</t></si><si><t>x</t></si><si><t>y</t></si><si><t>INV-4</t></si><si"
    path = raw_xlsx(tmp_path / "cut.xlsx", key_rows([]) + used, strings=strings)
    # The table breaks after its fourth string: the header and row 2 never get there.
    with open_workbook(path, [HEADER]) as reader:
        assert next(reader.rows()).key == "INV-1"
    with open_workbook(path, [HEADER]) as reader:
        assert [r.key for r in reader.rows()] == ["INV-1", "INV-4"]
