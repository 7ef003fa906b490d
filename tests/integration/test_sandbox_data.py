"""Sandbox data: determinism, the catalogue helpers, awkward values and valid file bytes."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import pytest

from exmado_tui.sandbox import Catalogue, FaultSettings, SandboxConfig


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(seed=42, documents=3000)


def fingerprint(cat: Catalogue, step: int = 97) -> list[tuple]:
    return [
        (d.cabinet_id, d.id, d.title, repr(d.values), [(s.kind, s.size) for s in d.sections])
        for d in list(cat)[::step]
    ]


def test_same_seed_same_data_other_seed_other_data(catalogue: Catalogue) -> None:
    again = Catalogue(seed=42, documents=3000)
    assert fingerprint(again) == fingerprint(catalogue)
    doc = catalogue.multi_section_documents(1)[0]
    twin = again.document("Invoices", doc.id)
    assert [twin.section_bytes(s) for s in twin.sections] == [
        doc.section_bytes(s) for s in doc.sections
    ]
    assert fingerprint(Catalogue(seed=7, documents=3000)) != fingerprint(catalogue)


def test_sizes_follow_the_request(catalogue: Catalogue) -> None:
    assert len(catalogue.documents("Invoices")) == 3000
    assert len(catalogue.documents("Personnel")) == 300
    assert len(Catalogue(documents=10, personnel=4).documents("Personnel")) == 4


def test_key_helpers_describe_hits(catalogue: Catalogue) -> None:
    singles = catalogue.invoice_numbers_with_hits(20)
    assert len(singles) == 20 and len(set(singles)) == 20
    assert all(len(catalogue.documents_for("INVOICE_NO", n)) == 1 for n in singles)
    several = catalogue.invoice_numbers_with_several_hits()
    assert several and all(int(n) % 25 == 0 for n in several)
    assert all(len(catalogue.documents_for("INVOICE_NO", n)) in (2, 3) for n in several[:-1])
    assert all(
        not catalogue.documents_for("INVOICE_NO", n) for n in catalogue.missing_invoice_numbers(5)
    )


def test_employee_numbers_keep_leading_zeros(catalogue: Catalogue) -> None:
    numbers = catalogue.employee_numbers(5)
    assert numbers[0] == "000001" and all(re.fullmatch(r"\d{6}", n) for n in numbers)
    docs = catalogue.documents_for("EMPLOYEE_NO", numbers[0], cabinet="Personnel")
    assert 1 <= len(docs) <= 3


def test_awkward_values_exist(catalogue: Catalogue) -> None:
    for supplier in ("Müller & Söhne GmbH", "A/B Corp", "Smith (UK) Ltd", "Star*Mart"):
        assert catalogue.documents_for("SUPPLIER", supplier), supplier
    assert len(catalogue.document("Invoices", 107).values["NOTES"]) > 5000
    assert catalogue.document("Invoices", 50).values["STATUS"] is None


def test_document_shapes(catalogue: Catalogue) -> None:
    multi = catalogue.multi_section_documents()
    assert all(d.id % 10 == 0 and 2 <= len(d.sections) <= 3 for d in multi)
    assert len(multi) == 300
    for kind in ("png", "tiff", "docx", "xlsx"):
        assert catalogue.documents_of_kind(kind), kind


def test_pdf_bytes_are_well_formed(catalogue: Catalogue) -> None:
    doc = catalogue.documents_of_kind("pdf", 1)[0]
    data = doc.section_bytes(doc.sections[0])
    assert len(data) == doc.sections[0].size
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data)[1])
    assert data[start : start + 4] == b"xref"
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", data)]
    assert all(re.match(rb"\d+ 0 obj", data[o : o + 12]) for o in offsets)
    assert data.count(b"/Type /Page ") == doc.sections[0].pages


def test_png_tiff_and_office_bytes_are_well_formed(catalogue: Catalogue) -> None:
    png = catalogue.documents_of_kind("png", 1)[0]
    data = png.section_bytes(png.sections[0])
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
    length = struct.unpack(">I", data[8:12])[0]
    assert (
        zlib.crc32(data[12 : 16 + length])
        == struct.unpack(">I", data[16 + length : 20 + length])[0]
    )
    tiff = catalogue.documents_of_kind("tiff", 1)[0]
    assert tiff.section_bytes(tiff.sections[0]).startswith(b"II*\x00\x08\x00\x00\x00")
    for kind, part in (("docx", "word/document.xml"), ("xlsx", "xl/worksheets/sheet1.xml")):
        doc = catalogue.documents_of_kind(kind, 1)[0]
        archive = zipfile.ZipFile(io.BytesIO(doc.section_bytes(doc.sections[0])))
        assert archive.testzip() is None and doc.values["INVOICE_NO"] in archive.read(part).decode()


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="auth"):
        SandboxConfig(auth="kerberos")
    with pytest.raises(ValueError, match="error_rate"):
        SandboxConfig(faults=FaultSettings(error_rate=1.5))
    assert SandboxConfig(documents=100).personnel_documents == 10
