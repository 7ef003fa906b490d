"""Templates: lookups, formats, sanitising and confinement."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath

import pytest

from exmado_tui.config.templates import (
    TemplateError,
    Values,
    confine,
    has_extension,
    relative_path,
    render,
    sanitise_component,
)
from exmado_tui.files import MAX_COMPONENT_BYTES, numbered

FIELDS = {"SUPPLIER": "A/B Corp", "DOC_DATE": date(2023, 5, 17), "INVOICE_NO": "100001"}


def path_of(folder: str, name: str, values: Values, downloaded: str = "x.pdf") -> str:
    return str(relative_path(folder, name, values, downloaded_name=downloaded))


def test_the_demo_template() -> None:
    values = Values(FIELDS, {"Invoice number": "100001"})
    assert path_of("{SUPPLIER}/{DOC_DATE:%Y}", "{INVOICE_NO}", values) == (
        "A_B Corp/2023/100001.pdf"
    )


def test_row_values_by_header_and_iso_dates_take_formats() -> None:
    values = Values({}, {"Númèro  de facture": "0042", "Date": "2024-02-29"}, row=7)
    assert render("{numero de FACTURE}-{Date:%d.%m.%Y}-{ROW}", values) == "0042-29.02.2024-7"


def test_fields_win_over_row_values_and_case_is_forgiven() -> None:
    values = Values({"INVOICE_NO": "from-dw"}, {"invoice_no": "from-row"})
    assert render("{invoice_no}", values) == "from-dw"


def test_numbers_lists_datetimes_and_empty_values() -> None:
    values = Values({"AMOUNT": Decimal("12.5"), "TAGS": ["a", "b"], "AT": datetime(2024, 1, 2, 3)})
    assert render("{AMOUNT:08.2f}|{TAGS}|{AT:%H}", values) == "00012.50|a, b|03"
    assert render("{X}", Values({"X": None})) == "_"
    assert render("{X}", Values({}, {"X": "12.50"})) == "12.50"


def test_unknown_names_and_bad_formats_are_template_errors() -> None:
    with pytest.raises(TemplateError, match=r"names \{NOPE\}"):
        render("{NOPE}", Values(FIELDS))
    with pytest.raises(TemplateError, match="needs a date"):
        render("{INVOICE_NO:%Y}", Values(FIELDS))
    with pytest.raises(TemplateError, match="malformed"):
        render("{INVOICE_NO", Values(FIELDS))


def test_extension_comes_from_the_download_unless_the_template_has_one() -> None:
    values = Values({"N": "INV.2024"})
    assert path_of("", "{N}", values, "doc.PDF") == "INV.2024.pdf"
    assert path_of("", "{N}.tif", values, "doc.pdf") == "INV.2024.tif"
    assert path_of("", "", values, "original name.docx") == "original name.docx"
    assert has_extension("{A}.pdf") and not has_extension("{A}") and not has_extension("a.b/{A}")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("Lpt1", "_Lpt1"),
        ("ok name. . ", "ok name"),
        ('a<b>c:d"e|f?g*h', "a_b_c_d_e_f_g_h"),
        ("tab\there\x00", "tab_here_"),
        ("..", "_"),
        ("", "_"),
        ("  spaced  ", "spaced"),
        ("lone\ud800surrogate.pdf", "lone_surrogate.pdf"),
    ],
)
def test_sanitise_component(raw: str, clean: str) -> None:
    assert sanitise_component(raw) == clean


def test_long_names_are_cut_keeping_the_extension() -> None:
    cut = sanitise_component("x" * 300 + ".pdf")
    assert len(cut) == 120 and cut.endswith("x.pdf")


@pytest.mark.parametrize("char", ["請", "😀", "é", "x"])
def test_long_names_fit_in_bytes_keeping_the_extension(char: str) -> None:
    cut = sanitise_component(char * 300 + ".pdf")
    assert cut.endswith(char + ".pdf")
    assert len(cut.encode()) <= MAX_COMPONENT_BYTES and len(cut) <= 120


def test_a_name_cut_in_bytes_ends_on_a_whole_character() -> None:
    for pad in range(4):  # every position of a 4-byte character against the budget
        cut = sanitise_component("a" * pad + "😀" * 100)
        assert cut == "a" * pad + "😀" * ((MAX_COMPONENT_BYTES - pad) // 4)


def test_long_folder_and_file_names_are_accepted_by_the_file_system(tmp_path: Path) -> None:
    values = Values({"SUPPLIER": "株式会社" * 60, "TITLE": "請求書😀" * 60})
    rel = relative_path("{SUPPLIER}", "{TITLE}", values, downloaded_name="x.pdf")
    assert all(len(part.encode()) <= MAX_COMPONENT_BYTES for part in rel.parts)
    target = confine(tmp_path, rel)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"%PDF")
    assert target.name.endswith("😀.pdf")
    second = numbered(target, 2)
    second.write_bytes(b"%PDF")
    assert second.name.endswith(" (2).pdf")
    assert target.name.startswith(second.name.removesuffix(" (2).pdf"))
    assert len(second.name.encode()) <= MAX_COMPONENT_BYTES
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([target.name, second.name])


def test_numbering_a_name_at_the_limit_keeps_it_within_the_limit() -> None:
    full = Path("/o") / sanitise_component("請" * 300 + ".pdf")
    for n in (2, 10, 1000):
        name = numbered(full, n).name
        assert name.endswith(f"請 ({n}).pdf")
        assert len(name.encode()) <= MAX_COMPONENT_BYTES and len(name) <= 120


def test_values_cannot_climb_out_of_the_output_folder(tmp_path: Path) -> None:
    values = Values({"SUPPLIER": "../../etc", "N": ".."})
    rel = relative_path("{SUPPLIER}/{N}", "passwd", values, downloaded_name="x")
    assert rel == PurePosixPath("_.._etc", "_", "passwd")
    assert confine(tmp_path, rel).is_relative_to(tmp_path.resolve())
    rel = relative_path("../{N}x/../..", "f", values, downloaded_name="x")
    assert ".." not in rel.parts


def test_confine_refuses_escapes_and_symlinks(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="would leave the output folder"):
        confine(tmp_path / "out", "../elsewhere/x.pdf")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    with pytest.raises(TemplateError, match=r"symbolic link .*out/link, which leads to") as why:
        confine(tmp_path / "out", "link/x.pdf")
    assert "[templates]" not in str(why.value)  # the link is to blame, not the profile
    with pytest.raises(TemplateError, match="would leave the output folder"):
        confine(tmp_path / "out", "/etc/passwd")


def test_confine_gives_the_resolved_path_with_or_without_links(tmp_path: Path) -> None:
    root = tmp_path.resolve() / "out"
    (root / "2026" / "real").mkdir(parents=True)
    (root / "2026" / "inside").symlink_to(root / "2026" / "real")
    assert confine(root, "2026/new/x.pdf") == root / "2026" / "new" / "x.pdf"
    assert confine(root, "2026/inside/x.pdf") == root / "2026" / "real" / "x.pdf"
    assert confine(root, "2026/real/../x.pdf") == root / "2026" / "x.pdf"


def test_numbered_names() -> None:
    assert numbered(Path("/o/a b.pdf"), 2) == Path("/o/a b (2).pdf")
    assert numbered(Path("/o/noext"), 3) == Path("/o/noext (3)")
