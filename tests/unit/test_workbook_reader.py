"""The workbook reader: formats, header detection, normalisation and refusals."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

from exmado_tui.errors import WorkbookError
from exmado_tui.workbook.checks import OLE_SIGNATURE, sniff_encoding
from exmado_tui.workbook.reader import CellError, normalise_header, normalise_value
from tests.workbooks import make_xlsx, read_all


def test_normalise_values() -> None:
    assert normalise_value(12345.0) == "12345"
    assert normalise_value(12.5) == "12.5"
    assert normalise_value("  00042 ") == "00042"
    assert normalise_value(datetime(2024, 3, 1)) == "2024-03-01"
    assert normalise_value(datetime(2024, 3, 1, 10, 5)) == "2024-03-01T10:05:00"
    assert normalise_value(date(2024, 3, 1)) == "2024-03-01"
    assert normalise_value(None) == ""
    assert isinstance(normalise_value("#N/A"), CellError)


def test_header_matching_ignores_case_accents_and_spaces() -> None:
    assert normalise_header("  Númèro   de  FACTURE ") == "numero de facture"


def test_xlsx_detects_header_below_a_title_and_skips_blank_rows(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "w.xlsx",
        [
            ["Export of March"],
            [],
            ["  INVOICE   Number ", "Supplier", "Date"],
            [100001.0, " Acme ", datetime(2024, 1, 2)],
            [None, None, None],
            ["000042", "Beta", None],
        ],
    )
    layout, rows = read_all(path)
    assert layout.header_row == 3
    assert layout.sheet == "Sheet1"
    assert [(r.number, r.key) for r in rows] == [(4, "100001"), (6, "000042")]
    assert rows[0].values == {"INVOICE Number": "100001", "Supplier": "Acme", "Date": "2024-01-02"}


def test_formula_cells_give_their_cached_value(tmp_path: Path) -> None:
    # openpyxl cannot compute formulas, so write a cached value into the XML by hand.
    path = make_xlsx(tmp_path / "f.xlsx", [["Invoice number"], ["=1+1"]])
    with zipfile.ZipFile(path) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        "<f>1+1</f><v />", "<f>1+1</f><v>100002</v>"
    ).encode()
    assert "<v>100002</v>" in parts["xl/worksheets/sheet1.xml"].decode()
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    _, rows = read_all(path)
    assert rows[0].key == "100002"


def test_error_cells_and_missing_keys_are_row_errors(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "e.xlsx",
        [["Invoice number", "Note"], ["#N/A", "x"], [None, "only a note"], ["7", "#DIV/0!"]],
    )
    _, rows = read_all(path)
    assert "holds the Excel error #N/A" in rows[0].error
    assert "Row 3 has no value in column 'Invoice number'" in rows[1].error
    assert rows[2].error == "" and rows[2].values["Note"] == ""


def test_sheet_is_found_by_its_header_or_by_the_profile(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "s.xlsx",
        [["Cover page"]],
        sheets={"Données": [["Invoice number"], ["1"]], "Other": [["Invoice number"], ["2"]]},
    )
    layout, rows = read_all(path)
    assert layout.sheet == "Données" and rows[0].key == "1"
    layout, rows = read_all(path, sheet=" other ")
    assert layout.sheet == "Other" and rows[0].key == "2"
    with pytest.raises(WorkbookError, match="has no sheet named 'Missing'"):
        read_all(path, sheet="Missing")


def test_header_row_from_the_profile(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "h.xlsx", [["Invoice number"], ["Invoice number"], ["9"]])
    layout, rows = read_all(path, header_row=2)
    assert layout.header_row == 2 and [r.key for r in rows] == ["9"]


@pytest.mark.parametrize(
    ("encoding", "delimiter"), [("utf-8-sig", ";"), ("utf-8", ","), ("cp1252", "\t")]
)
def test_csv_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str) -> None:
    text = delimiter.join(["Invoice number", "Supplier"]) + "\r\n"
    text += delimiter.join(["000123", "Müller & Söhne"]) + "\r\n"
    text += delimiter.join(["100001", "Café Olé"]) + "\r\n"
    path = tmp_path / "w.csv"
    path.write_bytes(text.encode(encoding))
    assert sniff_encoding(path) == encoding
    _, rows = read_all(path)
    assert [r.key for r in rows] == ["000123", "100001"]
    assert rows[0].values["Supplier"] == "Müller & Söhne"


REFUSALS = {
    "old": ("old.xls", OLE_SIGNATURE + b"\0" * 100, "old Excel 97–2003 format"),
    "encrypted": ("secret.xlsx", OLE_SIGNATURE + b"\0" * 100, "password-protected"),
    "not a workbook": ("fake.xlsx", b"hello, I am text", "is not an Excel workbook"),
    "zip but not a workbook": ("zip.xlsx", None, "cannot be read as an Excel workbook"),
    "zero bytes": ("zero.xlsx", b"", "is empty"),
    "pdf": ("doc.pdf", b"%PDF-1.4", "is not an Excel workbook (.xlsx, .xlsm) or a CSV"),
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_refused_files_say_why_in_one_sentence(tmp_path: Path, kind: str) -> None:
    name, data, expected = REFUSALS[kind]
    path = tmp_path / name
    if data is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "not excel")
    else:
        path.write_bytes(data)
    with pytest.raises(WorkbookError) as caught:
        read_all(path)
    message = str(caught.value)
    assert expected in message and name in message
    assert message.count(". ") == 0 and message.endswith(".")


def test_empty_sheet_missing_and_duplicate_columns(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match="sheet 'Sheet1', is empty"):
        read_all(make_xlsx(tmp_path / "a.xlsx", []))
    with pytest.raises(WorkbookError, match="has no column 'Invoice number'.*'Supplier'"):
        read_all(make_xlsx(tmp_path / "b.xlsx", [["Supplier"], ["x"]]))
    with pytest.raises(WorkbookError, match="twice in header row 1 \\(columns A and C\\)"):
        read_all(make_xlsx(tmp_path / "c.xlsx", [["Invoice number", "x", "invoice  NUMBER"]]))


def test_duplicate_unmapped_headers_are_kept_apart(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "d.xlsx", [["Invoice number", "Note", "note"], ["1", "a", "b"]])
    _, rows = read_all(path)
    assert rows[0].values == {"Invoice number": "1", "Note": "a", "note (2)": "b"}


def test_multi_column_key(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "k.xlsx", [["Supplier", "Invoice number"], ["Acme", 5.0]])
    _, rows = read_all(path, columns=["Invoice number", "Supplier"])
    assert rows[0].key == "5 / Acme" and rows[0].key_parts == ("5", "Acme")
