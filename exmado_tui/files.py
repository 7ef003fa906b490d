"""File tools: files written safely, file names, and the writes a folder cannot take.

Writing: a file replaced whole (a reader sees the old content or all of the new, even after a
crash), made owner-only from the first byte, in folders only their owner can read; and a
file's SHA-256, which proves what was written. An atomic write fills a temporary file in the
target's folder (so the rename is atomic), fsyncs it, renames it over the target, and fsyncs
the folder so that the rename itself survives a power cut.

Names: a file name's limits and its numbered variants (`name (2).ext`, `name (3).ext`…). The
limits hold on Windows and Linux alike; a name that is too long is cut in its stem, on a
character boundary, and keeps its extension. A name read from a Linux folder need not be UTF-8
(Python holds its stray bytes as lone surrogates): it is measured by its bytes and shown escaped.

Writes a folder cannot take, told apart from other errors and said in one sentence naming the
folder: a full disk (ENOSPC) or quota (EDQUOT), with its free space; a folder the workers may
not write (permissions, a read-only mount, a file in its place), also found before a job is
created or started. Mid-job, either pauses the job rather than failing its rows. (The job
store's own full disk is the store's to say: `store/db.py`, `store_full`.)

It stands on `errors` and `formatting` only, so every package may use it.
"""

from __future__ import annotations

import errno
import getpass
import hashlib
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exmado_tui.errors import NoSpaceError, NotWritableError, PermanentError, in_chain
from exmado_tui.formatting import size, visible

# -- durable writes ----------------------------------------------------------------------------

PART_SUFFIX = ".exmado-part"
# A job's own temporary files (downloads, metadata files): `.exmado-<job id>-<uuid>.part`,
# removed at the job's next run if a killed one left them (pipeline/files.remove_partials).
JOB_PART_PREFIX = ".exmado-"
JOB_PART_SUFFIX = ".part"


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)  # Windows refuses to fsync a read-only descriptor
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move_into_place(
    temp: Path, target: Path, *, synced: bool = False, sync_folder: bool = True
) -> None:
    """Rename `temp` over `target` durably; `synced`: `temp` is fsynced already.
    `sync_folder=False`: the caller fsyncs the folder itself before it relies on the rename."""
    if not synced:
        fsync_file(temp)
    os.replace(temp, target)
    if sync_folder:
        fsync_folder(target.parent)


def job_part_path(folder: Path, job_id: str) -> Path:
    """A fresh temporary name in `folder` that says which job it belongs to."""
    return folder / f"{JOB_PART_PREFIX}{job_id}-{uuid.uuid4().hex}{JOB_PART_SUFFIX}"


def write_atomically(target: Path, write: Callable[[Path], object]) -> Path:
    """`write(temp)` fills a temporary file beside `target`, which then replaces `target`
    durably; the temporary file does not outlive a failure."""
    temp = target.with_name(_temp_name(target, str(os.getpid())))
    try:
        write(temp)
        move_into_place(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def remove_leftovers(target: Path) -> int:
    """Delete the temporary files of `write_atomically(target)` that writers killed mid-write
    left (it removes its own on any error it lives through); how many."""
    removed = 0
    for path in target.parent.glob(_temp_name(target, "*")):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _temp_name(target: Path, pid: str) -> str:
    return f".{target.name}.{pid}{PART_SUFFIX}"


# -- owner-only folders and files --------------------------------------------------------------

OTHERS = stat.S_IRWXG | stat.S_IRWXO


def private_folder(folder: Path) -> Path:
    """Create `folder` (and missing parents) readable by its owner only.

    The data folder holds the store and private copies of every workbook — employee or
    invoice lists — that other users of a shared server must not read. An existing folder
    keeps the permissions its owner gave it.
    """
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for new in reversed(missing):
        new.mkdir(mode=0o700, exist_ok=True)
    return folder


def owner_only(path: Path) -> None:
    """Take group and others' access away from `path` (a folder or a file) when it is this
    user's: an existing data folder keeps no 755 or 644 its owner once gave it. Another
    user's, or one gone meanwhile, is left as it is."""
    try:
        info = path.stat()
        if info.st_uid == os.geteuid() and info.st_mode & OTHERS:
            path.chmod(stat.S_IMODE(info.st_mode) & ~OTHERS)
    except OSError:
        return


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path`, readable by its owner only from the first byte."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(handle, "wb") as file:
        os.fchmod(handle, 0o600)  # a file that was there keeps its old mode through O_CREAT
        file.write(content)


def blocking_file(path: Path) -> Path | None:
    """What stands where a folder on the way to `path` should be: the deepest existing
    ancestor-or-self that is not a folder (a file, a FIFO, a dangling link), or None."""
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return None
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return None


# -- SHA-256 -----------------------------------------------------------------------------------

CHUNK = 1024 * 1024


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of the file at `path`."""
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_with_sha256(path: Path) -> tuple[bytes, str]:
    """The bytes of the file at `path`, read once, and their hex SHA-256 (for a file that is
    wanted whole in memory anyway: a workbook the job store keeps)."""
    content = path.read_bytes()
    return content, hashlib.sha256(content).hexdigest()


# -- names -------------------------------------------------------------------------------------

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


# -- a full disk, a folder not writable --------------------------------------------------------

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# What SQLite and PostgreSQL say when their disk is full (their errors carry no errno).
NO_SPACE_MARKERS = ("database or disk is full", "no space left on device", "disk quota exceeded")


def is_no_space(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) says the disk or the quota is full."""
    return in_chain(exc, _says_no_space)


def _says_no_space(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS:
        return True
    return any(marker in str(exc).lower() for marker in NO_SPACE_MARKERS)


def free_bytes(folder: Path) -> int:
    """Free bytes on the file system holding `folder` (or its nearest existing ancestor)."""
    usage = disk_usage(folder)
    return usage.free if usage else 0


def disk_usage(folder: Path) -> Any:
    """`shutil.disk_usage` of the file system holding `folder` (or its nearest existing
    ancestor: a folder not made yet will be made there); None when none can be read."""
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate)
        except OSError:
            continue
    return None


def no_space(folder: Path, what: str = "") -> NoSpaceError:
    """`No space left in /out (12.0 KB free)`, `what` naming whose folder it is."""
    whose = f"{what} " if what else ""
    return NoSpaceError(
        f"No space left in {whose}{folder} ({size(free_bytes(folder))} free)", folder=str(folder)
    )


NOT_PERMITTED_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
CHOOSE_ANOTHER = "or choose another output folder (--output, or [jobs] output_root)"


def is_not_permitted(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) is a write the system refused."""
    return in_chain(exc, lambda e: isinstance(e, OSError) and e.errno in NOT_PERMITTED_ERRNOS)


def not_writable(folder: Path, exc: BaseException) -> NotWritableError:
    """`The output folder /out cannot be written (Read-only file system)`, met mid-job."""
    reason = _reason(exc)
    return NotWritableError(
        f"The output folder {folder} cannot be written ({reason})", folder=str(folder)
    )


def make_folder(folder: Path) -> None:
    """`folder`, with the folders above it, or one sentence naming it when it cannot be made
    (the system's own words named only the path, not what was being done)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermanentError(
            f"Cannot make the folder {folder} ({_reason(exc)}); give a folder that exists or "
            "can be made, and that you can write to."
        ) from None


def check_output_folder(folder: Path) -> None:
    """Raise NotWritableError, one sentence with its fix, unless a file can be made in
    `folder` (or, not there yet, in the folder it would be created in)."""
    problem = output_folder_problem(folder)
    if problem:
        raise NotWritableError(
            f"The output folder {folder} {problem}; make it writable for the user the workers "
            f"run as, {CHOOSE_ANOTHER}.",
            folder=str(folder),
        )


def output_folder_problem(folder: Path) -> str:
    """Why no file can be made in `folder` ("cannot be written by user ana (Permission
    denied)"), or "" when one can."""
    blocker = blocking_file(folder)
    if blocker is not None:
        return f"cannot be created: {blocker} is a file, not a folder"
    existing = next(p for p in (folder, *folder.parents) if p.is_dir())
    try:
        _make_and_drop_a_file(existing)
    except OSError as exc:
        return f"cannot be written by user {getpass.getuser()} ({_reason(exc)})"
    return ""


def _make_and_drop_a_file(folder: Path) -> None:
    """An unnamed file where the file system makes one (Linux's O_TMPFILE), so a worker killed
    meanwhile leaves nothing in the folder (a named probe was found left by a `kill -9`); a
    named one elsewhere."""
    unnamed = getattr(os, "O_TMPFILE", 0)
    if unnamed:
        try:
            os.close(os.open(folder, unnamed | os.O_WRONLY, 0o600))
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
    handle, probe = tempfile.mkstemp(prefix=".exmado-probe-", dir=folder)
    os.close(handle)
    os.unlink(probe)


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
