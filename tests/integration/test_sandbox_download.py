"""Sandbox conformance: FileDownload (Auto/PDF/Zip), Content-Disposition, sections, Range."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import unquote

import httpx
import pytest

from exmado_tui.sandbox.schema import Document

P = "/DocuWare/Platform"
SIGNATURES = {
    "application/pdf": b"%PDF-",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/tiff": b"II*\x00",
    "application/zip": b"PK\x03\x04",
}


def download(client: httpx.Client, doc: Document, target: str) -> httpx.Response:
    url = f"{P}/FileCabinets/{doc.cabinet_id}/Documents/{doc.id}/FileDownload"
    return client.get(
        url,
        params={"targetFileType": target, "keepAnnotations": "false"},
        headers={"Accept": "*/*"},
    )


def section_data(
    client: httpx.Client, doc: Document, number: int, **headers: str
) -> httpx.Response:
    sid = f"{doc.id}-{number}"
    return client.get(f"{P}/FileCabinets/{doc.cabinet_id}/Sections/{sid}/Data", headers=headers)


def filename_of(response: httpx.Response) -> str:
    value = response.headers["content-disposition"]
    assert value.startswith("attachment;")
    if "filename*=UTF-8''" in value:
        return unquote(value.split("filename*=UTF-8''")[1].split(";")[0])
    return value.split('filename="')[1].split('"')[0]


def test_auto_single_pdf_is_the_file_unchanged(sandbox, sandbox_client) -> None:
    doc = sandbox.catalogue.documents_of_kind("pdf", 1)[0]
    response = download(sandbox_client, doc, "Auto")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert int(response.headers["content-length"]) == len(response.content) == doc.file_size()
    assert response.content.startswith(b"%PDF-") and response.content.rstrip().endswith(b"%%EOF")
    assert response.content == section_data(sandbox_client, doc, 1).content
    assert filename_of(response) == doc.title + ".pdf"


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [
        ("png", "image/png"),
        ("tiff", "image/tiff"),
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ],
)
def test_auto_single_keeps_the_original_content_type(
    sandbox, sandbox_client, kind: str, content_type: str
) -> None:
    doc = sandbox.catalogue.documents_of_kind(kind, 1)[0]
    response = download(sandbox_client, doc, "Auto")
    assert response.status_code == 200 and response.headers["content-type"] == content_type
    assert response.content.startswith(SIGNATURES.get(content_type, b"PK\x03\x04"))
    if kind in ("docx", "xlsx"):
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        assert "[Content_Types].xml" in names
    assert len(response.content) == doc.file_size()


def test_auto_multi_section_is_a_zip_of_the_sections(sandbox, sandbox_client) -> None:
    doc = sandbox.catalogue.multi_section_documents(1)[0]
    response = download(sandbox_client, doc, "Auto")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert filename_of(response) == doc.title + ".zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    listed = sandbox_client.get(
        f"{P}/FileCabinets/{doc.cabinet_id}/Sections", params={"docid": doc.id}
    ).json()["Section"]
    assert archive.namelist() == [s["OriginalFileName"] for s in listed]
    for number, section in enumerate(listed, start=1):
        data = section_data(sandbox_client, doc, number).content
        assert archive.read(section["OriginalFileName"]) == data
        assert len(data) == section["FileSize"]


def test_pdf_target_gives_one_pdf(sandbox, sandbox_client) -> None:
    for doc in (
        sandbox.catalogue.multi_section_documents(1)[0],
        sandbox.catalogue.documents_of_kind("png", 1)[0],
    ):
        response = download(sandbox_client, doc, "PDF")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-") and response.content.count(b"%%EOF") == 1
        assert filename_of(response).endswith(".pdf")


def test_zip_target_is_always_a_zip(sandbox, sandbox_client) -> None:
    doc = sandbox.catalogue.documents_of_kind("pdf", 1)[0]
    response = download(sandbox_client, doc, "Zip")
    assert response.headers["content-type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(response.content)).namelist() == [f"doc-{doc.id}.pdf"]


def test_unknown_target_type_is_422(sandbox, sandbox_client) -> None:
    doc = sandbox.catalogue.documents_of_kind("pdf", 1)[0]
    response = download(sandbox_client, doc, "Original")
    assert response.status_code == 422 and response.json()["Message"]


def test_non_ascii_titles_get_an_rfc5987_filename(sandbox, sandbox_client) -> None:
    doc = sandbox.catalogue.documents_for("SUPPLIER", "Müller & Söhne GmbH")[0]
    header = download(sandbox_client, doc, "Auto").headers["content-disposition"]
    assert "filename*=UTF-8''" in header and 'filename="' in header
    plain = sandbox.catalogue.documents_for("SUPPLIER", "Globex Corporation")[0]
    assert "filename*" not in download(sandbox_client, plain, "Auto").headers["content-disposition"]


def test_section_resources_and_links(sandbox, sandbox_client) -> None:
    doc = sandbox.catalogue.multi_section_documents(1)[0]
    listed = sandbox_client.get(
        f"{P}/FileCabinets/{doc.cabinet_id}/Sections", params={"docid": doc.id}
    ).json()["Section"]
    section = sandbox_client.get(listed[0]["Links"][0]["href"]).json()
    download_href = next(x["href"] for x in section["Links"] if x["rel"] == "fileDownload")
    data = sandbox_client.get(download_href)
    assert data.status_code == 200 and len(data.content) == section["FileSize"]
    assert data.headers["content-type"] == section["ContentType"]
    assert (
        sandbox_client.get(f"{P}/FileCabinets/{doc.cabinet_id}/Sections/{doc.id}-9").status_code
        == 404
    )


def test_range_requests_on_section_data(sandbox, sandbox_client) -> None:
    doc = sandbox.catalogue.documents_of_kind("pdf", 1)[0]
    whole = section_data(sandbox_client, doc, 1).content
    part = section_data(sandbox_client, doc, 1, Range="bytes=0-99")
    assert part.status_code == 206 and part.content == whole[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole)}"
    assert part.headers["content-length"] == "100"
    tail = section_data(sandbox_client, doc, 1, Range="bytes=-10")
    assert tail.status_code == 206 and tail.content == whole[-10:]
    rest = section_data(sandbox_client, doc, 1, Range=f"bytes={len(whole) - 5}-")
    assert rest.content == whole[-5:]
    beyond = section_data(sandbox_client, doc, 1, Range=f"bytes={len(whole)}-")
    assert beyond.status_code == 416


def test_stats_count_each_delivery(sandbox_factory, sandbox_login) -> None:
    server = sandbox_factory()
    doc = server.catalogue.documents_of_kind("pdf", 1)[0]
    headers = {"Authorization": f"Bearer {sandbox_login(server.url)}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        assert server.stats.downloads_of(doc.cabinet_id, doc.id) == 0
        download(client, doc, "Auto")
        assert server.stats.downloads_of(doc.cabinet_id, doc.id) == 1
        stats = client.get("/_sandbox/stats").json()
    assert stats["by_endpoint"]["FileDownload"] == 1
    assert stats["downloads"] == {f"{doc.cabinet_id}/{doc.id}": 1}


def test_download_without_auth_is_401(sandbox) -> None:
    doc = sandbox.catalogue.documents_of_kind("pdf", 1)[0]
    url = f"{sandbox.url}{P}/FileCabinets/{doc.cabinet_id}/Documents/{doc.id}/FileDownload"
    assert httpx.get(url).status_code == 401
