"""An independent DocuWare client (sniner's `docuware-client`) finds the sandbox a DocuWare.

That client was written against real servers, not against our code or our reading of the API,
so where it and the sandbox agree the sandbox behaves like DocuWare.
"""

from __future__ import annotations

import io
import zipfile

import docuware
import pytest

from exmado_tui.sandbox import SandboxServer


@pytest.fixture
def organization(sandbox: SandboxServer):
    client = docuware.DocuwareClient(sandbox.url)
    client.login("demo", "demo")
    [org] = list(client.organizations)
    return org


def test_it_signs_in_and_sees_the_cabinets(organization):
    names = {cabinet.name for cabinet in organization.file_cabinets}
    assert {"Invoices", "Personnel"} <= names


def test_it_searches_through_the_default_dialog(organization, sandbox):
    [number] = sandbox.catalogue.invoice_numbers_with_several_hits()[:1]
    dialog = organization.file_cabinet("Invoices").search_dialog()
    hits = list(dialog.search([f"INVOICE_NO={number}"]))
    expected = sandbox.catalogue.documents_for("INVOICE_NO", number)
    assert len(expected) >= 2
    assert sorted(int(hit.document.id) for hit in hits) == sorted(d.id for d in expected)


def test_it_downloads_a_pdf_and_a_multi_section_zip(organization, sandbox):
    cabinet = organization.file_cabinet("Invoices")
    [single] = sandbox.catalogue.invoice_numbers_with_hits(1)
    [hit] = list(cabinet.search_dialog().search([f"INVOICE_NO={single}"]))
    data, mime, name = hit.document.download(keep_annotations=False)
    assert mime == "application/pdf"
    assert data.startswith(b"%PDF")
    assert name.endswith(".pdf")
    [multi] = sandbox.catalogue.multi_section_documents(1)
    number = multi.value("INVOICE_NO")
    docs = [h.document for h in cabinet.search_dialog().search([f"INVOICE_NO={number}"])]
    [doc] = [d for d in docs if str(d.id) == str(multi.id)]
    data, mime, _ = doc.download(keep_annotations=False)
    assert mime == "application/zip"
    assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) == len(multi.sections)


def test_it_reports_bad_credentials_as_an_account_error(sandbox: SandboxServer):
    client = docuware.DocuwareClient(sandbox.url)
    with pytest.raises(docuware.DocuwareClientException):
        client.login("demo", "wrong")
