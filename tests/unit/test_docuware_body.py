"""A body read within bounds: size (decompressed included), announced length, rate floor."""

import asyncio
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from exmado_tui.docuware.body import MB, BodyLimits, read_body
from exmado_tui.docuware.errors import RefusedAnswerError, SlowAnswerError

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
