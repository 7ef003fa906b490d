"""A file name's limits and its numbered variants: `name (2).ext`, `name (3).ext`…

The limits hold on Windows and Linux alike; a name that is too long is cut in its stem, on a
character boundary, and keeps its extension. A name read from a Linux folder need not be UTF-8
(Python holds its stray bytes as lone surrogates): it is measured by its bytes and shown escaped.
"""

from __future__ import annotations

from pathlib import Path

from exmado_tui.formatting import visible

MAX_COMPONENT = 120  # characters: Windows counts a name in UTF-16 units, 255 at most
# Linux counts a name in UTF-8 bytes, 255 at most (errno 36): 120 CJK characters are 360.
MAX_COMPONENT_BYTES = 200  # a margin under 255 for tools that add to a name (copies, sync)
MAX_EXTENSION = 16


def shorten(name: str) -> str:
    """`name`, cut in its stem when it is over either limit."""
    if len(name) <= MAX_COMPONENT and len(_bytes(name)) <= MAX_COMPONENT_BYTES:
        return name
    stem, ext = split_extension(name)
    return fit(stem, ext)


def fit(stem: str, tail: str) -> str:
    """`stem + tail`, the stem cut on a character boundary so that both limits hold."""
    cut = stem[: MAX_COMPONENT - len(tail)]
    room = MAX_COMPONENT_BYTES - len(_bytes(tail))
    if len(_bytes(cut)) > room:
        cut = _bytes(cut)[:room].decode(errors="ignore")  # drops a character cut in half
    return (cut if cut == stem else cut.rstrip(" .")) + tail


def split_extension(name: str) -> tuple[str, str]:
    """(stem, `.ext`), or (name, "") when what follows the last dot is no extension."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) + 1 > MAX_EXTENSION or " " in ext:
        return name, ""
    return stem, "." + ext


def numbered(path: Path, n: int) -> Path:
    """`name (n).ext` beside `path`; a name at the limit is cut."""
    stem, ext = split_extension(path.name)
    return path.with_name(fit(stem, f" ({n}){ext}"))


def first_free(path: Path) -> Path:
    """`path`, or the first of `name (2).ext`, `name (3).ext`… that does not exist."""
    candidate, n = path, 2
    while candidate.exists():
        candidate, n = numbered(path, n), n + 1
    return candidate


def is_utf8(name: str) -> bool:
    """Whether `name` was valid UTF-8 on disk (no stray byte held as a lone surrogate)."""
    try:
        name.encode()
    except UnicodeEncodeError:
        return False
    return True


def shown(name: str) -> str:
    """`name` as a sentence or a log line can carry it: a byte that is not UTF-8 as `\\xe9`,
    a control character as `\\x1b`."""
    return visible(_bytes(name).decode(errors="backslashreplace"))


def _bytes(name: str) -> bytes:
    """The name's bytes on disk, stray ones included."""
    return name.encode(errors="surrogateescape")
