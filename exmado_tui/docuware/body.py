"""Reading a DocuWare answer's body within bounds: its size (decompressed, as it is
decompressed), and a rate floor it must keep up.

A lying or broken server must not exhaust a worker: a gzip bomb, an endless chunked body or a
500 MB search answer is cut as soon as it passes its bound, and a body trickling in is cut
once its rate over a window stays under the floor. Decompression is ours (httpx would inflate
a whole network chunk at once), in pieces of at most `PIECE` bytes.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx

from exmado_tui.docuware.errors import RefusedAnswerError, SlowAnswerError

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
    """The raw body; every `window_s` it must have brought `floor x window` bytes, else cut.

    The read in progress is waited for, not cancelled, at a window's end: cancelling it would
    end httpx's stream there, and a body that kept its pace would come out short.
    """
    if limits.floor_bytes_per_s <= 0:
        async for raw in response.aiter_raw():
            yield raw
        return
    loop = asyncio.get_running_loop()
    needed = limits.floor_bytes_per_s * limits.window_s
    chunks = response.aiter_raw().__aiter__()
    window_end, got = loop.time() + limits.window_s, 0
    reading: asyncio.Task[bytes | None] | None = None
    try:
        while True:
            reading = reading or asyncio.ensure_future(_next(chunks))
            await asyncio.wait([reading], timeout=max(window_end - loop.time(), 0))
            raw = b""
            if reading.done():
                got_raw, reading = reading.result(), None
                if got_raw is None:
                    return
                raw = got_raw
            got += len(raw)
            if loop.time() >= window_end:
                if got < needed:
                    raise _too_slow(response, got, limits)
                window_end, got = loop.time() + limits.window_s, 0
            if raw:
                yield raw
    finally:
        if reading is not None:
            reading.cancel()


async def _next(chunks: AsyncIterator[bytes]) -> bytes | None:
    """The next raw chunk; None at the end."""
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None


def _too_slow(response: httpx.Response, got: int, limits: BodyLimits) -> SlowAnswerError:
    path = response.request.url.path
    return SlowAnswerError(
        f"DocuWare sent {path} at {got / limits.window_s:,.0f} bytes/s over "
        f"{limits.window_s:g} s, under the floor of {limits.floor_bytes_per_s / 1024:g} KB/s "
        "([docuware] min_rate_kb_s); it was cut.",
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
