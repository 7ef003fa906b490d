"""Workbooks a user might hand over by mistake: each refused in one sentence, never a traceback."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from exmado_tui.errors import WorkbookError
from exmado_tui.workbook.reader import open_workbook
from tests.workbooks import INVOICE_COLUMNS, make_xlsx, read_all


def refused(path: Path, **options) -> str:
    with pytest.raises(WorkbookError) as caught:
        read_all(path, **options)
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message
    return message


def damaged_copy(source: Path, target: Path, member: str, cut: float = 0.5) -> Path:
    """`source` with one member of its zip cut short, as a broken download leaves it."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == member:
                data = data[: int(len(data) * cut)]
            dst.writestr(item, data)
    return target


def test_a_damaged_sheet_is_one_sentence(tmp_path: Path) -> None:
    good = make_xlsx(
        tmp_path / "good.xlsx", [["Invoice number"], *[[f"INV-{i}"] for i in range(50)]]
    )
    bad = damaged_copy(good, tmp_path / "bad.xlsx", "xl/worksheets/sheet1.xml")
    message = refused(bad)
    assert message.startswith("Workbook bad.xlsx, sheet 'Sheet1', is damaged (ParseError)")


def test_a_sheet_damaged_below_the_header_is_one_sentence_while_streaming(tmp_path: Path) -> None:
    rows = [["Invoice number"], *[[f"INV-{i:05d}"] for i in range(3000)]]
    good = make_xlsx(tmp_path / "good.xlsx", rows)
    bad = damaged_copy(good, tmp_path / "bad.xlsx", "xl/worksheets/sheet1.xml", cut=0.9)
    with open_workbook(bad, INVOICE_COLUMNS) as reader, pytest.raises(WorkbookError) as caught:
        list(reader.rows())
    assert str(caught.value).startswith("Workbook bad.xlsx, sheet 'Sheet1', is damaged")


def test_a_workbook_openpyxl_trips_over_is_one_sentence(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.create_chartsheet()  # openpyxl cannot read back an empty chart sheet
    book.save(tmp_path / "chart.xlsx")
    message = refused(tmp_path / "chart.xlsx")
    assert message.startswith("Workbook chart.xlsx cannot be read as an Excel workbook")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_csv_with_its_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "export.csv"
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path.write_bytes(bom + "Invoice number;Société\nINV-1;Müller\n".encode(encoding))
    layout, rows = read_all(path)
    assert layout.headers == ("Invoice number", "Société")
    assert [r.key for r in rows] == ["INV-1"] and rows[0].values["Société"] == "Müller"


def test_a_header_below_the_scanned_rows_says_how_to_point_at_it(tmp_path: Path) -> None:
    rows = [[f"note {i}"] for i in range(40)] + [["Invoice number"], ["INV-1"]]
    message = refused(make_xlsx(tmp_path / "deep.xlsx", rows))
    assert "has no column 'Invoice number' in its header row 1" in message
    assert message.endswith(
        "rename the column, change the profile's [columns], or set its header_row"
        " if the header is below row 30."
    )
    layout, found = read_all(tmp_path / "deep.xlsx", header_row=41)
    assert layout.header_row == 41 and [r.key for r in found] == ["INV-1"]
