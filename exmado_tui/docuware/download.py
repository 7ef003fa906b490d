"""Streaming a response body to disk, and a safe filename from `Content-Disposition`."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
from pathlib import Path
from urllib.parse import unquote

import httpx

from exmado_tui.docuware.body import MB, BodyLimits, announced_length, body_chunks, size_text
from exmado_tui.docuware.errors import IncompleteDownloadError, UnexpectedResponseError
from exmado_tui.docuware.models import DownloadResult

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
