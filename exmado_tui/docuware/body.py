"""A DocuWare answer's body: read within bounds (its size, decompressed, as it is
decompressed, and a rate floor it must keep up), or streamed to disk as a document's file
under a safe name from `Content-Disposition`.

A lying or broken server must not exhaust a worker: a gzip bomb, an endless chunked body or a
500 MB search answer is cut as soon as it passes its bound, and a body trickling in is cut
once its rate over a window stays under the floor. Decompression is ours (httpx would inflate
a whole network chunk at once), in pieces of at most `PIECE` bytes. A download is bounded by
what the document declares (`document_limits`) and refused when its type is not the one asked
for (`refuse_wrong_type`).
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import httpx

from exmado_tui.docuware.errors import (
    IncompleteDownloadError,
    RefusedAnswerError,
    SlowAnswerError,
    UnexpectedResponseError,
)
from exmado_tui.docuware.models import DownloadResult

PIECE = 64 * 1024
MB = 1024 * 1024


@dataclass(frozen=True)
class BodyLimits:
    """`max_bytes` decoded at most (`too_large(n)` is the sentence: n the size announced, None
    when the body was cut past the bound); at least `floor_bytes_per_s` over every `window_s`
    (0: no floor)."""

    max_bytes: int
    too_large: Callable[[int | None], str]
    floor_bytes_per_s: float = 0.0
    window_s: float = 60.0


def size_text(size: int) -> str:
    """`900 bytes`, `12 KB`, `3.0 MB`, `3,072 MB`."""
    if size < 1024:
        return f"{size:,} bytes"
    if size < MB:
        return f"{size / 1024:,.0f} KB"
    return f"{size / MB:,.0f} MB" if size >= 10 * MB else f"{size / MB:,.1f} MB"


async def body_chunks(response: httpx.Response, limits: BodyLimits) -> AsyncIterator[bytes]:
    """The decoded body in pieces; raises RefusedAnswerError past `max_bytes` (or when the
    announced length alone passes it), SlowAnswerError under the rate floor."""
    path = response.request.url.path
    announced = announced_length(response)
    if announced is not None and announced > limits.max_bytes:
        raise RefusedAnswerError(limits.too_large(announced), path=path)
    read = _already_read(response)
    decoder = _decoder(response) if read is None else _as_is
    size = 0
    async for raw in _paced(response, limits) if read is None else _in_pieces(read):
        for piece in decoder(raw):
            size += len(piece)
            if size > limits.max_bytes:
                raise RefusedAnswerError(limits.too_large(None), path=path)
            yield piece


async def read_body(response: httpx.Response, limits: BodyLimits) -> bytes:
    """The whole decoded body, within `limits`; the response is closed after."""
    pieces: list[bytes] = []
    try:
        async for piece in body_chunks(response, limits):
            pieces.append(piece)
    finally:
        await response.aclose()
    return b"".join(pieces)


def with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """A read copy of `response` holding `body` (already decoded: no Content-Encoding left)."""
    gone = {"content-encoding", "content-length", "transfer-encoding"}
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in gone]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )


def _already_read(response: httpx.Response) -> bytes | None:
    """The body httpx already holds (decoded), as a transport built from bytes gives it."""
    try:
        return response.content
    except httpx.ResponseNotRead:
        return None


async def _in_pieces(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), PIECE):
        yield body[start : start + PIECE]


def announced_length(response: httpx.Response) -> int | None:
    """Content-Length when it counts decoded bytes (no Content-Encoding)."""
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    length = response.headers.get("Content-Length", "").strip()
    if encoding not in ("", "identity") or not length.isdigit():
        return None
    return int(length)


async def _paced(response: httpx.Response, limits: BodyLimits) -> AsyncIterator[bytes]:
    """The raw body; once a window's time has passed it must have brought `floor` bytes for
    every second of it, else it is cut.

    The pace is checked as each chunk arrives, so a body that keeps it costs no timer and no
    task a chunk; a server that sends nothing at all is cut by the client's read timeout
    (`[docuware] timeout_s`), one that drips is cut at its first chunk past the window.
    """
    if limits.floor_bytes_per_s <= 0:
        async for raw in response.aiter_raw():
            yield raw
        return
    loop = asyncio.get_running_loop()
    start, got = loop.time(), 0
    async for raw in response.aiter_raw():
        got += len(raw)
        if (elapsed := loop.time() - start) >= limits.window_s:
            if got < limits.floor_bytes_per_s * elapsed:
                raise _too_slow(response, got / elapsed, limits)
            start, got = loop.time(), 0
        yield raw


def _too_slow(response: httpx.Response, rate: float, limits: BodyLimits) -> SlowAnswerError:
    path = response.request.url.path
    return SlowAnswerError(
        f"DocuWare sent {path} at {rate:,.0f} bytes/s over {limits.window_s:g} s or more, "
        f"under the floor of {limits.floor_bytes_per_s / 1024:g} KB/s ([docuware] "
        "min_rate_kb_s); it was cut.",
        path=path,
        status=response.status_code,
    )


Decoder = Callable[[bytes], Iterator[bytes]]


def _decoder(response: httpx.Response) -> Decoder:
    """A bounded decoder for the response's Content-Encoding (identity, gzip or deflate)."""
    codings = [
        c.strip().lower()
        for c in response.headers.get("Content-Encoding", "").split(",")
        if c.strip().lower() not in ("", "identity")
    ]
    if not codings:
        return _as_is
    path = response.request.url.path
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return _Inflater(codings[0], path).pieces
    raise RefusedAnswerError(
        f"DocuWare sent {path} encoded as {', '.join(codings)!r}, which Éxmado does not read "
        "(it asks for gzip or deflate).",
        path=path,
        status=response.status_code,
    )


def _as_is(raw: bytes) -> Iterator[bytes]:
    if raw:
        yield raw


class _Inflater:
    """zlib, `PIECE` bytes out at a time however much one input chunk expands: the caller
    counts each piece as it comes, so a bomb is cut before it is held."""

    def __init__(self, coding: str, path: str) -> None:
        self.coding, self.path = coding, path
        self.inflate = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding != "deflate" else 15)
        self.started = False

    def pieces(self, raw: bytes) -> Iterator[bytes]:
        data = raw
        while not self.inflate.eof:
            try:
                piece = self.inflate.decompress(data, PIECE)
            except zlib.error:
                if self.coding != "deflate" or self.started:
                    raise RefusedAnswerError(
                        f"DocuWare sent {self.path} as {self.coding} that does not decompress.",
                        path=self.path,
                    ) from None
                self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate without a header
                self.started = True
                continue
            self.started = True
            if piece:
                yield piece
            data = self.inflate.unconsumed_tail
            if not data and len(piece) < PIECE:  # a full piece may have more behind it
                return


_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
# A separator inside a title is part of the name ("A/B Corp"), never a folder boundary.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
MAX_NAME = 200
# A download may pass the size DocuWare declared for the document by this much (a PDF made
# from an original, a ZIP of its sections, annotations burnt in), and no more.
DECLARED_FACTOR = 4
DECLARED_SLACK = 16 * MB


def disposition_filename(header: str | None) -> str:
    """The filename in a Content-Disposition header ('' when none); `filename*` wins."""
    params: dict[str, str] = {}
    _, _, tail = (header or "").partition(";")
    for key, raw in _PARAM.findall(";" + tail):
        value = raw.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params.setdefault(key.lower(), value)
    if "filename*" in params:
        decoded = _rfc5987(params["filename*"])
        if decoded:
            return decoded
    return params.get("filename", "")


def _rfc5987(value: str) -> str:
    """`UTF-8''na%C3%AFve.pdf` → `naïve.pdf`."""
    charset, sep, rest = value.partition("'")
    if not sep:
        return unquote(value)
    _, _, encoded = rest.partition("'")
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="replace")
    except LookupError:
        return unquote(encoded, errors="replace")


def safe_filename(name: str, fallback: str) -> str:
    """A basename safe on Windows and Linux: separators, control and reserved characters
    become `_`, so a title keeps every part; never `..`."""
    base = _UNSAFE.sub("_", name).strip(" .")
    if not base or set(base) <= {"_", "."}:
        base = fallback
    if _RESERVED.match(base):
        base = "_" + base
    if len(base) > MAX_NAME:
        stem, ext = os.path.splitext(base)
        base = stem[: MAX_NAME - len(ext[:20])] + ext[:20]
    return base


def fallback_name(stem: str, content_type: str) -> str:
    ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
    return f"{stem}{ext}"


# What a PDF or ZIP download may come as, besides application/octet-stream.
EXPECTED_TYPES = {"PDF": "pdf", "Zip": "zip"}


async def refuse_wrong_type(response: httpx.Response, kind: str, document: str) -> None:
    """Refuse a PDF or ZIP download answered with something else — an HTML sign-in page of a
    proxy in front of DocuWare would otherwise be filed as the invoice. (An original, `Auto`,
    may be of any type.)"""
    expected = EXPECTED_TYPES.get(kind)
    mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not expected or mime in ("", "application/octet-stream") or expected in mime:
        return
    await response.aclose()
    what = (
        "an HTML page (a sign-in page of a proxy or single sign-on in front of DocuWare?)"
        if "html" in mime
        else repr(mime)
    )
    path = response.request.url.path
    raise UnexpectedResponseError(
        f"DocuWare answered the {kind} download of document {document} with {what}, "
        "not the document.",
        path=path,
        status=response.status_code,
    )


def document_limits(
    document: str, declared: int, max_mb: float | None, floor: tuple[float, float]
) -> BodyLimits:
    """What one download may bring: `declared` (DocuWare's FileSize; 0: unknown) with its
    margin, `[jobs] max_document_mb` (None: no cap of its own), at `floor` (bytes/s, window)."""
    cap = int(max_mb * MB) if max_mb is not None else None
    margin = declared * DECLARED_FACTOR + DECLARED_SLACK if declared > 0 else None
    bound = min(b for b in (cap, margin, 2**63) if b is not None)

    def too_large(size: int | None) -> str:
        said = size_text(size) if size is not None else f"more than {size_text(bound)}"
        if bound == margin:
            why = f"for a document DocuWare declared as {declared:,} bytes"
        else:
            why = f"over [jobs] max_document_mb = {max_mb:g}"
        return (
            f"The download of document {document} came to {said} {why}; it was cut and not filed."
        )

    return BodyLimits(bound, too_large, *floor)


async def stream_to_file(
    response: httpx.Response,
    dest: Path,
    stem: str,
    limits: BodyLimits,
    *,
    fsync: bool = True,
) -> DownloadResult:
    """Write the body to `dest` (flushed; fsynced unless `fsync` is False) and check it whole.

    `fsync=False` is for a caller that fsyncs the file itself before it relies on it (the
    pipeline does, in the same thread hand-off as its rename).
    """
    path = response.request.url.path
    digest, size = hashlib.sha256(), 0
    try:
        with open(dest, "wb") as handle:
            async for chunk in body_chunks(response, limits):
                handle.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            handle.flush()
            if fsync:
                await asyncio.to_thread(os.fsync, handle.fileno())  # off the loop: waits on disk
    except httpx.TransportError as exc:
        dest.unlink(missing_ok=True)
        raise IncompleteDownloadError(
            f"The download from {path} broke off after {size} bytes ({type(exc).__name__}).",
            path=path,
            status=response.status_code,
        ) from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        await response.aclose()
    _check_length(response, dest, size)
    content_type = response.headers.get("Content-Type", "application/octet-stream")
    name = disposition_filename(response.headers.get("Content-Disposition"))
    filename = safe_filename(name, fallback_name(stem, content_type))
    mime = content_type.split(";")[0].strip()
    return DownloadResult(dest, filename, mime, size, digest.hexdigest())


def _check_length(response: httpx.Response, dest: Path, size: int) -> None:
    expected = announced_length(response)
    if expected is not None and size != expected:
        dest.unlink(missing_ok=True)
        path = response.request.url.path
        raise IncompleteDownloadError(
            f"The download from {path} ended after {size} of {expected} bytes.",
            path=path,
            status=response.status_code,
        )
