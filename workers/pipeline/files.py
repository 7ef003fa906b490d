"""Placing downloaded documents: temporary name in the target folder, verify, rename.

A download streams to `.exmado-<job id>-<uuid>.part` beside its final place (same file system,
so the rename is atomic), its length is checked, then it is fsynced and `os.replace`d (in one
hand-off to a thread, off the event loop). The folders are fsynced by the runner before it
records the rows (`sync_folders`): once each a batch, not once a file, and still before a row
names a file a power cut could take back. A worker killed at any line leaves at most a
`.part` file (cleaned at the job's next run — its own only, as jobs may share an output
folder), never a half-written file under a final name. At the final path:

* a file with the same SHA-256 is already ours: nothing is written, the row records it (this
  is also what makes a redo after a crash write nothing twice), under every policy;
* `skip_identical` — a different file there is kept and the row fails, saying so;
* `rename` — the document goes to `name (2).ext`, `(3)`…;
* `overwrite` — the file is replaced and the job's log says which.

Those policies are about files the job did not write. Two different documents of the same job
that render to the same name (two hits for one invoice number) never replace each other: the
later one is numbered `name (2).ext`.

A document matched by several rows is fetched once per job (and not again on a later run when
its file is still there). Multi-section ZIPs are unpacked when asked: members go beside each
other as `<name> - <member name>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import threading
import zipfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePosixPath

from exmado_tui.config.profiles import DOWNLOAD_TARGETS, Profile
from exmado_tui.config.templates import Values, confine, relative_path, sanitise_component
from exmado_tui.docuware.budget import RowPermits
from exmado_tui.docuware.errors import IncompleteDownloadError
from exmado_tui.docuware.models import Document, DownloadResult
from exmado_tui.docuware.values import encode
from exmado_tui.errors import PermanentError, RetryableError
from exmado_tui.files import (
    CHUNK,
    fsync_file,
    fsync_folder,
    move_into_place,
    numbered,
    sha256_of,
)
from exmado_tui.files import JOB_PART_PREFIX as PART_PREFIX
from exmado_tui.files import JOB_PART_SUFFIX as PART_SUFFIX
from exmado_tui.files import job_part_path as part_path
from exmado_tui.job.status import Event
from workers.runtime import DocuWarePort

_LEGACY_PART = re.compile(r"[0-9a-f]{32}")
MB = 1024 * 1024
WHOLE_TRIES = 3  # downloads of one document whose body broke off, before the row gives up
WHOLE_BACKOFF_S = 0.2


class ExistingFileError(PermanentError):
    """A different file is at the target path and the policy keeps it."""


class IncompleteFileError(RetryableError):
    """The file on disk is not as long as the download said."""


class ZipTooLargeError(PermanentError):
    """A ZIP from DocuWare would unpack past `[jobs] unzip_member_max_mb` or `_total_max_mb`."""


@dataclass(frozen=True)
class ZipLimits:
    """How far a ZIP from DocuWare may unpack: a broken or hostile server must not fill the
    disk. Checked against the sizes the archive declares before a byte is written, and
    against the bytes written while unpacking."""

    member_mb: float = 2048
    total_mb: float = 8192

    def check_member(self, name: str, size: int) -> None:
        if size > self.member_mb * MB:
            raise ZipTooLargeError(
                f"The ZIP from DocuWare holds {name!r} of {size / MB:,.1f} MB, more than "
                f"[jobs] unzip_member_max_mb = {self.member_mb:g} allows; raise it, or keep "
                "ZIPs whole with the profile's unpack_zip = false."
            )

    def check_total(self, size: int) -> None:
        if size > self.total_mb * MB:
            raise ZipTooLargeError(
                f"The ZIP from DocuWare unpacks to {size / MB:,.1f} MB, more than [jobs] "
                f"unzip_total_max_mb = {self.total_mb:g} allows; raise it, or keep ZIPs whole "
                "with the profile's unpack_zip = false."
            )


@dataclass(frozen=True)
class FileRecord:
    document_id: str
    cabinet_id: str
    path: str  # relative to the output folder, with forward slashes
    size: int
    sha256: str
    modified: datetime | None = None  # the document's DWMODDATETIME, naive UTC like the store
    index_data: str | None = None  # its index fields as the store keeps them (docuware/values.py)


@dataclass
class Placed:
    records: list[FileRecord]
    events: list[Event] = field(default_factory=list)
    # Files this call brought into being (not kept as identical, not overwritten): the ones a
    # row cut before it was recorded takes back, so none is on disk without a record.
    new: list[str] = field(default_factory=list)

    def add(self, other: Placed) -> None:
        self.records += other.records
        self.events += other.events
        self.new += other.new


class PartlyPlaced(Exception):
    """`failure` stopped an `in_turn` after it had `placed` some files: those are on disk,
    so the failed row records them and tells their events."""

    def __init__(self, placed: Placed, failure: Exception) -> None:
        super().__init__(str(failure))
        self.placed = placed
        self.failure = failure


def sync_folders(root: Path, records: Iterable[FileRecord]) -> None:
    """fsync, once each, the folders `records` were placed in, so that their renames survive a
    power cut: called before their rows are recorded. A folder gone since is not waited for
    (its files went with it; `exmado jobs verify` tells)."""
    for folder in {(root / record.path).parent for record in records}:
        with contextlib.suppress(FileNotFoundError):
            fsync_folder(folder)


def remove_partials(root: Path, job_id: str) -> int:
    """Delete the `.part` files a killed run of this job left under `root`; how many.

    Another job writing into the same folder keeps its own; nameless ones (`.exmado-<uuid>`,
    before parts carried their job) are removed too, as nothing writes those any more.
    """
    removed = 0
    if root.is_dir():
        for path in root.rglob(f"{PART_PREFIX}*{PART_SUFFIX}"):
            if _belongs_to(path.name, job_id):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _belongs_to(name: str, job_id: str) -> bool:
    middle = name[len(PART_PREFIX) : -len(PART_SUFFIX)]
    return middle.startswith(f"{job_id}-") or _LEGACY_PART.fullmatch(middle) is not None


def doc_key(cabinet_id: str, document_id: object) -> str:
    return f"{cabinet_id}/{document_id}"


class Placer:
    """Downloads and files documents for one job run; lives on the event loop."""

    def __init__(
        self,
        client: DocuWarePort,
        profile: Profile,
        output_dir: Path,
        known: dict[str, list[FileRecord]],
        job_id: str,
        zip_limits: ZipLimits = ZipLimits(),
        max_document_mb: float | None = None,
        *,
        permits: RowPermits,
    ) -> None:
        self.client = client
        self.permits = permits  # the job's: a download holds one (`budget.RowPermits`)
        self.zip_limits = zip_limits
        self.max_document_mb = max_document_mb  # `[jobs] max_document_mb`: one download
        self.job_id = job_id
        self.profile = profile
        self.root = Path(output_dir).resolve()
        self.known = known
        self.ours = {r.path for records in known.values() for r in records}
        self._inflight: dict[str, asyncio.Future[Placed]] = {}
        self.shared: set[str] = set()  # placed for one row, handed to another as well
        # What cut rows did that no redo can tell (files they overwrote): told as the run ends
        self.cut_events: list[Event] = []
        self._naming = threading.Lock()  # one decision about a final name at a time

    async def place(self, doc: Document, values: Values) -> Placed:
        key = doc_key(doc.cabinet_id, doc.id)
        if key in self.known and self._present(self.known[key]):
            return self._shared(self.known[key], doc)
        if key in self._inflight:
            return self._shared((await asyncio.shield(self._inflight[key])).records, doc)
        future: asyncio.Future[Placed] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            placed = await self._fetch(doc, values)
        except asyncio.CancelledError:
            self._inflight.pop(key, None)
            future.cancel()
            raise
        except Exception as exc:
            self._inflight.pop(key, None)
            # the rows waiting for it fail as this one does; its files are this row's to record
            future.set_exception(exc.failure if isinstance(exc, PartlyPlaced) else exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        self.known[key] = placed.records  # later rows find it here: the future can go
        self._inflight.pop(key, None)
        future.set_result(Placed(placed.records))
        return placed

    def _shared(self, records: list[FileRecord], doc: Document) -> Placed:
        """Another row's documents: kept even when the row that placed them is cut. Their
        index fields are this hit's (an earlier run's records are read without them)."""
        self.shared.update(r.path for r in records)
        index_data = encode(doc)
        return Placed([replace(r, index_data=index_data) for r in records])

    def _present(self, records: list[FileRecord]) -> bool:
        return all(_size(self.root / r.path) == r.size for r in records)

    async def _fetch(self, doc: Document, values: Values) -> Placed:
        probe = self._relative(values, str(doc.id))
        folder = confine(self.root, probe.parent)
        folder.mkdir(parents=True, exist_ok=True)
        temp = part_path(folder, self.job_id)
        try:
            result = await self._download_whole(doc, temp)
            relative = self._relative(values, result.filename)
            if self.profile.unpack_zip and _is_zip(result, temp):
                return await self._unpack(doc, temp, relative)
            return await self._commit(doc, temp, relative, result.sha256, result.size, False)
        finally:
            temp.unlink(missing_ok=True)

    async def _download_whole(self, doc: Document, temp: Path) -> DownloadResult:
        """Download to `temp`; a body cut off (connection dropped, shorter than announced) is
        fetched again at once, up to `WHOLE_TRIES` times — the client retries only until the
        answer's headers, and a row's one later turn would leave a flaky line failing rows."""
        for attempt in range(1, WHOLE_TRIES):
            try:
                return await self._download_once(doc, temp)
            except (IncompleteDownloadError, IncompleteFileError):
                await asyncio.sleep(WHOLE_BACKOFF_S * attempt)
        return await self._download_once(doc, temp)

    async def _download_once(self, doc: Document, temp: Path) -> DownloadResult:
        async with self.permits:
            result = await self.client.download(
                doc,
                temp,
                target=DOWNLOAD_TARGETS[self.profile.format],
                keep_annotations=self.profile.keep_annotations,
                fsync=False,  # `_commit_now` fsyncs it, just before the rename
                max_mb=self.max_document_mb,
                permits=self.permits,
            )
        if _size(temp) != result.size:
            raise IncompleteFileError(
                f"Document {doc.id} arrived with {_size(temp)} of {result.size} bytes."
            )
        return result

    def _relative(self, values: Values, downloaded_name: str) -> PurePosixPath:
        return relative_path(
            self.profile.folder_template,
            self.profile.filename_template,
            values,
            downloaded_name=downloaded_name,
        )

    async def _unpack(self, doc: Document, archive: Path, relative: PurePosixPath) -> Placed:
        members = await asyncio.to_thread(_extract, archive, self.zip_limits)
        stem = relative.name.rsplit(".", 1)[0] if "." in relative.name else relative.name
        try:
            return await self.in_turn(
                partial(
                    self._commit,
                    doc,
                    temp,
                    relative.with_name(sanitise_component(f"{stem} - {name}")),
                    sha,
                    size,
                )
                for temp, name, size, sha in members
            )
        finally:
            for temp, *_ in members:
                temp.unlink(missing_ok=True)

    async def in_turn(self, steps: Iterable[Callable[[], Awaitable[Placed]]]) -> Placed:
        """The files of `steps` (each placing some), run one after another, as one `Placed`;
        cut between them, the files they brought into being go (`take_back`): whoever cut it
        records none of them. A step failing after others placed files raises `PartlyPlaced`
        with them (and with those of its own steps: a ZIP's members)."""
        placed = Placed([])
        try:
            for step in steps:
                placed.add(await step())
        except asyncio.CancelledError:
            self.take_back(placed.new)
            self.cut_events += placed.events
            raise
        except PartlyPlaced as partly:
            placed.add(partly.placed)
            raise PartlyPlaced(placed, partly.failure) from partly.failure
        except Exception as exc:
            if not placed.records:
                raise
            raise PartlyPlaced(placed, exc) from exc
        return placed

    async def _commit(
        self,
        doc: Document,
        temp: Path,
        relative: PurePosixPath,
        sha256: str,
        size: int,
        synced: bool = True,
    ) -> Placed:
        work = asyncio.ensure_future(
            asyncio.to_thread(self._commit_now, doc, temp, relative, sha256, size, synced)
        )
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # The rename goes on in its thread whatever happens here, while the row is cut
            # and stays pending: once the file is in place, take it back. The cut ends only
            # then (the callback runs before the wait's), so whoever cut the row finds the
            # file gone and an overwrite in `cut_events` once the row has ended.
            work.add_done_callback(self._take_back_when_done)
            await asyncio.wait([work])
            raise

    def _take_back_when_done(self, work: asyncio.Future[Placed]) -> None:
        if not work.cancelled() and work.exception() is None:
            self.take_back(work.result().new)
            self.cut_events += work.result().events

    def take_cut_events(self) -> list[Event]:
        """The events of the rows cut since the last call: an overwritten file stays so, and
        the row's redo finds it identical and says nothing."""
        events, self.cut_events = self.cut_events, []
        return events

    def take_back(self, paths: list[str]) -> None:
        """Remove files a cut row placed (its `Placed.new`); none another row was given."""
        for path in paths:
            if path not in self.shared:
                (self.root / path).unlink(missing_ok=True)
                self.ours.discard(path)

    def _commit_now(
        self,
        doc: Document,
        temp: Path,
        relative: PurePosixPath,
        sha256: str,
        size: int,
        synced: bool = True,
    ) -> Placed:
        """Put `temp` at its final name; `synced`: `temp` is fsynced already (else it is here,
        beside other commits' fsyncs: only the choice of the name and the rename take turns)."""
        if not synced:
            fsync_file(temp)
        with self._naming:
            return self._name_and_move(doc, temp, relative, sha256, size)

    def _name_and_move(
        self, doc: Document, temp: Path, relative: PurePosixPath, sha256: str, size: int
    ) -> Placed:
        final = confine(self.root, relative)
        target, overwriting = final, False
        events: list[Event] = []
        attempt = 1
        while target.exists():
            if _size(target) == size and sha256_of(target) == sha256:
                self.ours.add(self._rel(target))
                return Placed([self._record(doc, target, size, sha256)])
            policy = "rename" if self._rel(target) in self.ours else self.profile.on_existing
            if policy == "overwrite":
                events.append(
                    Event(f"Overwrote {self._rel(target)} (different content).", "warning")
                )
                overwriting = True
                break
            if policy == "skip_identical":
                raise ExistingFileError(
                    f"{self._rel(target)} already exists with different content and "
                    "on_existing = skip_identical keeps it; set on_existing to rename or "
                    "overwrite, or move the file away, then retry."
                )
            attempt += 1
            target = numbered(final, attempt)
        move_into_place(temp, target, synced=True, sync_folder=False)  # `sync_folders`
        self.ours.add(self._rel(target))
        new = [] if overwriting else [self._rel(target)]
        return Placed([self._record(doc, target, size, sha256)], events, new)

    def _record(self, doc: Document, path: Path, size: int, sha256: str) -> FileRecord:
        modified = doc.last_modified
        return FileRecord(
            str(doc.id),
            str(doc.cabinet_id),
            self._rel(path),
            size,
            sha256,
            modified.astimezone(UTC).replace(tzinfo=None) if modified else None,
            encode(doc),
        )

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _is_zip(result: DownloadResult, path: Path) -> bool:
    named = str(result.filename).lower().endswith(".zip") or "zip" in str(result.content_type)
    return named and zipfile.is_zipfile(path)


def _extract(archive: Path, limits: ZipLimits) -> list[tuple[Path, str, int, str]]:
    """Each member to its own `.part` file beside the archive: (temp, name, size, sha256).

    Within `limits`, or none at all: what was unpacked before a refusal is removed.
    """
    members: list[tuple[Path, str, int, str]] = []
    temps: list[Path] = []
    try:
        with zipfile.ZipFile(archive) as bundle:
            infos = [info for info in bundle.infolist() if not info.is_dir()]
            for info in infos:
                limits.check_member(_member_name(info), info.file_size)
            limits.check_total(sum(info.file_size for info in infos))
            written = 0
            for number, info in enumerate(infos):
                temps.append(archive.with_name(f"{archive.stem}-{number}{PART_SUFFIX}"))
                size, sha = _unpack_member(bundle, info, temps[-1], limits, written)
                written += size
                members.append((temps[-1], _member_name(info), size, sha))
    except BaseException:
        for temp in temps:
            temp.unlink(missing_ok=True)
        raise
    return members


def _member_name(info: zipfile.ZipInfo) -> str:
    return info.filename.replace("\\", "/").rsplit("/", 1)[-1]


def _unpack_member(
    bundle: zipfile.ZipFile, info: zipfile.ZipInfo, temp: Path, limits: ZipLimits, before: int
) -> tuple[int, str]:
    """Copy one member to `temp`, counting: (size, sha256). The declared sizes were checked;
    the bytes are counted too, whatever the archive's headers say."""
    digest, size = hashlib.sha256(), 0
    with bundle.open(info) as source, open(temp, "wb") as target:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            limits.check_member(_member_name(info), size)
            limits.check_total(before + size)
            digest.update(chunk)
            target.write(chunk)
        target.flush()
        os.fsync(target.fileno())
    return size, digest.hexdigest()
