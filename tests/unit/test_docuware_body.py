"""An answer's body (docuware/body.py): read within bounds (size, decompressed included,
announced length, rate floor), or a download streamed to disk (filenames from
Content-Disposition, sanitising, streaming, truncation, sections)."""

import asyncio
import gzip
import hashlib
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import httpx
import pytest

from exmado_tui.config.settings import DocuWareSettings, Secret
from exmado_tui.docuware.body import MB, BodyLimits, disposition_filename, read_body, safe_filename
from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.errors import (
    IncompleteDownloadError,
    NotFoundError,
    RefusedAnswerError,
    RetryPolicy,
    SlowAnswerError,
)
from exmado_tui.docuware.models import Document, DocumentRef, FileCabinet
from tests.clocks import no_sleep

URL = "http://dw.test/DocuWare/Platform/x"


class Stream(httpx.AsyncByteStream):
    """A body from an async generator, as a real connection hands it over (not yet read)."""

    def __init__(self, chunks: Callable[[], AsyncIterator[bytes]]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.chunks():
            yield chunk


def response(chunks: Callable[[], AsyncIterator[bytes]], **headers: str) -> httpx.Response:
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    request = httpx.Request("GET", URL)
    return httpx.Response(200, headers=named, stream=Stream(chunks), request=request)


def limits(max_bytes: int, floor: float = 0.0, window: float = 60.0) -> BodyLimits:
    return BodyLimits(max_bytes, lambda n: f"too large: {n}", floor, window)


def pieces(data: bytes, size: int = 16 * 1024) -> Callable[[], AsyncIterator[bytes]]:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), size):
            yield data[start : start + size]

    return chunks


def gzipped(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return packer.compress(data) + packer.flush()


async def test_a_gzip_bomb_is_cut_at_the_bound_without_being_held():
    bomb = gzipped(bytes(64 * MB))  # 64 MB of zeros in about 64 KB
    tracemalloc.start()
    try:
        with pytest.raises(RefusedAnswerError, match="too large: None"):
            await read_body(response(pieces(bomb, 64 * 1024), Content_Encoding="gzip"), limits(MB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB, f"reading the bomb held {peak / MB:.0f} MB"


async def test_gzip_and_deflate_decode_whole():
    text = b"DocuWare " * 50_000
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    codings = {
        "gzip": gzipped(text),
        "deflate": zlib.compress(text),
        "Deflate": raw_deflate.compress(text) + raw_deflate.flush(),  # no zlib header
        "identity": text,
    }
    for coding, body in codings.items():
        got = await read_body(response(pieces(body, 1000), Content_Encoding=coding), limits(MB))
        assert got == text, coding


async def test_an_encoding_it_cannot_bound_is_refused_with_a_sentence():
    with pytest.raises(RefusedAnswerError, match="encoded as 'br'"):
        await read_body(response(pieces(b"x"), Content_Encoding="br"), limits(MB))


async def test_an_announced_length_over_the_bound_is_refused_before_reading():
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("read")
        yield b""

    with pytest.raises(RefusedAnswerError, match=f"too large: {500 * MB}"):
        await read_body(response(never, Content_Length=str(500 * MB)), limits(MB))


async def test_an_endless_body_is_cut_just_past_the_bound():
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        while True:
            sent += 64 * 1024
            yield bytes(64 * 1024)

    with pytest.raises(RefusedAnswerError):
        await read_body(response(endless), limits(MB))
    assert sent <= MB + 64 * 1024


async def test_a_trickle_under_the_floor_is_cut():
    async def trickle() -> AsyncIterator[bytes]:
        while True:
            yield b"x"
            await asyncio.sleep(0.02)

    with pytest.raises(SlowAnswerError, match=r"under the floor of 1 KB/s \(\[docuware\] min_rate"):
        await read_body(response(trickle), limits(MB, floor=1024, window=0.2))


async def test_a_body_that_keeps_the_pace_through_pauses_arrives_whole():
    """A read still waiting at a window's end is waited for, not cut short."""

    async def bursts() -> AsyncIterator[bytes]:
        for _ in range(6):  # a read is waiting at nearly every window's end
            yield bytes(10_000)
            await asyncio.sleep(0.07)

    got = await read_body(response(bursts), limits(MB, floor=10, window=0.1))
    assert len(got) == 60_000


# --- downloads, streamed to disk -------------------------------------------------------

SETTINGS = DocuWareSettings(url="http://dw.test", username="u", password=Secret("p"), auth="cookie")
P = "/DocuWare/Platform"
BODY = b"%PDF-1.7 " + bytes(range(256)) * 40


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="Invoice 1001.pdf"', "Invoice 1001.pdf"),
        ("attachment; filename=18+guid+Name with space.pdf", "18+guid+Name with space.pdf"),
        ("attachment; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20M%C3%BCller.pdf", "Grüße Müller.pdf"),
        ("attachment; filename=\"fallback.pdf\"; filename*=UTF-8''na%C3%AFve.pdf", "naïve.pdf"),
        ("attachment; filename*=iso-8859-1'de'M%FCller.pdf", "Müller.pdf"),
        ('attachment; filename="say \\"hi\\".pdf"', 'say "hi".pdf'),
        ("inline", ""),
        (None, ""),
    ],
)
def test_disposition_filename(header, name):
    assert disposition_filename(header) == name


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("..\\..\\evil.pdf", "_.._evil.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("Invoice 100003 - A/B Corp.pdf", "Invoice 100003 - A_B Corp.pdf"),
        ("Smith\\Jones.pdf", "Smith_Jones.pdf"),
        ("..", "fallback.bin"),
        ("", "fallback.bin"),
        ("a\x00b\x1fc\x7f.pdf", "a_b_c_.pdf"),
        ('what?*<>:|".pdf', "what_______.pdf"),
        ("CON.pdf", "_CON.pdf"),
        ("  .hidden. ", "hidden"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
        ("Grüße.pdf", "Grüße.pdf"),
    ],
)
def test_safe_filename(raw, safe):
    assert safe_filename(raw, "fallback.bin") == safe


class FileServer:
    def __init__(self, *, headers=None, body=BODY, content_type="application/pdf") -> None:
        self.headers, self.body, self.content_type = headers or {}, body, content_type
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/Account/Logon"):
            return httpx.Response(200, json={})
        if path.endswith("/Account/Logoff"):
            return httpx.Response(200)
        if path == f"{P}/FileCabinets/fc/Sections/1-2":
            return httpx.Response(
                200,
                json={
                    "Id": "1-2",
                    "OriginalFileName": "scan 2.tif",
                    "ContentType": "image/tiff",
                    "Links": [{"rel": "fileDownload", "href": f"{P}/Files/1-2?x=1"}],
                },
            )
        if path == f"{P}/FileCabinets/fc/Sections/1-3":
            return httpx.Response(200, json={"Id": "1-3", "OriginalFileName": "c.txt", "Links": []})
        if "Documents/404" in path:
            return httpx.Response(404, json={"Message": "Document 404 not found."})
        headers = {"Content-Type": self.content_type, **self.headers}
        return httpx.Response(200, content=self.body, headers=headers)


def downloads(server: FileServer) -> list[httpx.Request]:
    return [r for r in server.requests if "/Account/" not in r.url.path]


def client_for(server) -> AsyncDocuWareClient:
    return AsyncDocuWareClient(
        replace(SETTINGS),
        transport=httpx.MockTransport(server),
        retry=RetryPolicy(max_attempts=2, backoff_base_s=0.001),
        sleep=no_sleep,
    )


async def test_download_streams_to_dest_with_checksum(tmp_path):
    server = FileServer(headers={"Content-Disposition": 'attachment; filename="../Inv 7.pdf"'})
    dest = tmp_path / "part.tmp"
    async with client_for(server) as client:
        result = await client.download(DocumentRef("fc", 7), dest, target="pdf")
    assert dest.read_bytes() == BODY
    assert result.path == dest and result.filename == "_Inv 7.pdf"
    assert result.size == len(BODY) and result.sha256 == hashlib.sha256(BODY).hexdigest()
    assert result.content_type == "application/pdf"
    request = downloads(server)[-1]
    assert request.url.path == f"{P}/FileCabinets/fc/Documents/7/FileDownload"
    assert request.url.params["targetFileType"] == "PDF"
    assert request.url.params["keepAnnotations"] == "false"
    assert request.headers["Accept"] == "*/*"


async def test_download_uses_document_link_and_target_names(tmp_path):
    server = FileServer(content_type="application/zip")
    doc = Document(7, "fc", "t", "", 0, 2, {}, links={"fileDownload": f"{P}/DL/7?append=8"})
    async with client_for(server) as client:
        result = await client.download(doc, tmp_path / "x", target="Zip", keep_annotations=True)
        with pytest.raises(ValueError):
            await client.download(doc, tmp_path / "y", target="Original")
    params = downloads(server)[-1].url.params
    assert downloads(server)[-1].url.path == f"{P}/DL/7"
    assert (params["append"], params["targetFileType"], params["keepAnnotations"]) == (
        "8",
        "Zip",
        "true",
    )
    assert result.filename == "7.zip"  # no Content-Disposition: id + extension


async def test_truncated_download_raises_retryable_and_removes_file(tmp_path):
    server = FileServer(headers={"Content-Length": str(len(BODY) + 100)})
    dest = tmp_path / "part.tmp"
    async with client_for(server) as client:
        with pytest.raises(IncompleteDownloadError) as info:
            await client.download(("fc", 7), dest)
    assert info.value.retryable
    assert f"ended after {len(BODY)} of {len(BODY) + 100} bytes" in str(info.value)
    assert not dest.exists()


async def test_broken_stream_raises_retryable_and_removes_file(tmp_path):
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b"partial"
            raise httpx.ReadError("connection reset")

    def handler(request):
        if "Account" in request.url.path:
            return httpx.Response(200, json={})
        return httpx.Response(200, stream=Broken(), headers={"Content-Type": "application/pdf"})

    dest = tmp_path / "part.tmp"
    async with client_for(handler) as client:
        with pytest.raises(IncompleteDownloadError, match="broke off after 7 bytes"):
            await client.download(("fc", 7), dest)
    assert not dest.exists()


async def test_gzip_content_length_is_not_compared_with_decoded_size(tmp_path):
    packed = gzip.compress(BODY)
    server = FileServer(
        body=packed, headers={"Content-Encoding": "gzip", "Content-Length": str(len(packed))}
    )
    async with client_for(server) as client:
        result = await client.download(("fc", 7), tmp_path / "d")
    assert result.size == len(BODY) and (tmp_path / "d").read_bytes() == BODY


async def test_download_error_leaves_no_file(tmp_path):
    dest = tmp_path / "d"
    async with client_for(FileServer()) as client:
        with pytest.raises(NotFoundError, match="Document 404 not found"):
            await client.download(("fc", 404), dest)
    assert not dest.exists()


async def test_section_download_follows_file_download_link(tmp_path):
    server = FileServer(content_type="image/tiff")
    cabinet = FileCabinet("fc", "Invoices")
    async with client_for(server) as client:
        result = await client.download_section(cabinet, "1-2", tmp_path / "s")
        fallback = await client.download_section(cabinet, "1-3", tmp_path / "t")
    paths = [r.url.path for r in server.requests if "/Account/" not in r.url.path]
    assert paths == [
        f"{P}/FileCabinets/fc/Sections/1-2",
        f"{P}/Files/1-2",
        f"{P}/FileCabinets/fc/Sections/1-3",
        f"{P}/FileCabinets/fc/Sections/1-3/Data",
    ]
    assert result.filename == "scan 2.tif" and result.size == len(BODY)
    assert (tmp_path / "s").read_bytes() == BODY
    assert fallback.filename == "c.txt"


async def test_a_pdf_download_answered_with_a_sign_in_page_is_refused_not_saved(tmp_path):
    from exmado_tui.docuware.errors import UnexpectedResponseError

    page = b'<!DOCTYPE html><form><input type="password" name="Password"></form>'
    server = FileServer(body=page, content_type="text/html; charset=utf-8")
    async with client_for(server) as client:
        with pytest.raises(UnexpectedResponseError) as caught:
            await client.download(DocumentRef("fc", 7), tmp_path / "pdf.part", target="pdf")
        original = await client.download(DocumentRef("fc", 7), tmp_path / "auto.part")
    assert str(caught.value) == (
        "DocuWare answered the PDF download of document 7 with an HTML page (a sign-in page of "
        "a proxy or single sign-on in front of DocuWare?), not the document."
    )
    assert not (tmp_path / "pdf.part").exists()
    assert original.content_type == "text/html"  # an original may be HTML: kept as it is
