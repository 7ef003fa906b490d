"""`exmado jobs verify --remote` and `--sample`: DocuWare asked about the documents a job
exported.

Each exported document is read again (`GET …/Documents/{id}`, a few at a time): gone (404) is
`-`, a `LastModified` (DWMODDATETIME) other than the manifest's is `*`. With `--sample`, a
share of them, picked at random, is downloaded again as the job downloaded it (its format,
annotations and ZIP unpacking) and its SHA-256 compared with the manifest's. Any other failure
to ask (DocuWare down, sign-in refused) means the export could not be verified: the error goes
up to the caller.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from exmado_tui.config.profiles import DOWNLOAD_TARGETS, Profile
from exmado_tui.config.settings import DocuWareSettings
from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.errors import NotFoundError
from exmado_tui.docuware.models import DocumentRef
from exmado_tui.output.manifest import ExportedDocument, ManifestIndex
from exmado_tui.output.verify import KEPT, FileCheck, Mark

IN_FLIGHT = 4  # documents asked about at once: the shared budget paces them further
CHUNK = 200


@dataclass(frozen=True)
class Sample:
    """How many documents to download again: a share (`5%`) or a number (`20`)."""

    percent: float | None = None
    count: int | None = None

    def of(self, total: int) -> int:
        if self.percent is not None:
            return min(total, math.ceil(total * self.percent / 100))
        return min(total, self.count or 0)

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.count)


@dataclass
class RemoteCheck:
    asked: int = 0
    unchanged: int = 0
    undated: int = 0  # the manifest has no modified date: only a deletion could be seen
    sampled: int = 0
    findings: list[FileCheck] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, check: FileCheck) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if check.mark is not Mark.SAME and len(self.findings) < KEPT:
            self.findings.append(check)

    @property
    def differ(self) -> int:
        return sum(n for kind, n in self.counts.items() if kind != "sample_same")

    def to_json(self) -> dict[str, object]:
        return {
            "asked": self.asked,
            "unchanged": self.unchanged,
            "without_modified_date": self.undated,
            "modified": self.counts.get("modified", 0),
            "deleted": self.counts.get("deleted", 0),
            "sampled": self.sampled,
            "sample_same": self.counts.get("sample_same", 0),
            "sample_changed": self.counts.get("sample_changed", 0),
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass
class RemoteVerifier:
    index: ManifestIndex
    settings: DocuWareSettings
    profile: Profile
    on_finding: Callable[[FileCheck], None]
    sample: Sample | None = None
    max_document_mb: float | None = None
    result: RemoteCheck = field(default_factory=RemoteCheck)

    async def run(self) -> RemoteCheck:
        total = self.index.document_count()
        picked = set(random.sample(range(total), self.sample.of(total))) if self.sample else set()
        documents = enumerate(self.index.documents())
        async with AsyncDocuWareClient(self.settings) as client:
            gate = asyncio.Semaphore(IN_FLIGHT)
            with tempfile.TemporaryDirectory(prefix="exmado-sample-") as folder:
                while chunk := list(islice(documents, CHUNK)):
                    await asyncio.gather(
                        *(
                            self._one(client, gate, doc, n in picked, Path(folder))
                            for n, doc in chunk
                        )
                    )
        return self.result

    async def _one(
        self,
        client: AsyncDocuWareClient,
        gate: asyncio.Semaphore,
        doc: ExportedDocument,
        sampled: bool,
        folder: Path,
    ) -> None:
        cabinet = doc.cabinet_id or self.profile.cabinet
        async with gate:
            self.result.asked += 1
            try:
                found = await client.get_document(cabinet, int(doc.document_id))
            except NotFoundError:
                self._tell("deleted", Mark.MISSING, doc, "deleted in DocuWare (or hidden from us)")
                return
            self._compare_dates(doc, found.last_modified)
            if sampled:
                await self._download_again(client, doc, cabinet, folder)

    def _compare_dates(self, doc: ExportedDocument, now: datetime | None) -> None:
        if doc.modified is None:
            self.result.undated += 1
            return
        then = datetime.fromisoformat(doc.modified.removesuffix("Z")).replace(tzinfo=UTC)
        # Any other date than the one exported is a change (a restored older version too).
        if now is not None and now.astimezone(UTC).replace(microsecond=0) != then:
            since = f"modified in DocuWare {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, "
            self._tell(
                "modified",
                Mark.CHANGED,
                doc,
                since + f"exported as of {then:%Y-%m-%d %H:%M:%S} UTC",
            )
            return
        self.result.unchanged += 1

    async def _download_again(
        self, client: AsyncDocuWareClient, doc: ExportedDocument, cabinet: str, folder: Path
    ) -> None:
        self.result.sampled += 1
        temp = folder / f"{doc.document_id}.download"
        try:
            await client.download(
                DocumentRef((await client.find_cabinet(cabinet)).id, int(doc.document_id)),
                temp,
                target=DOWNLOAD_TARGETS[self.profile.format],
                keep_annotations=self.profile.keep_annotations,
                fsync=False,
                max_mb=self.max_document_mb,
            )
            hashes = await asyncio.to_thread(_hashes, temp, self.profile.unpack_zip)
        finally:
            temp.unlink(missing_ok=True)
        if sorted(hashes) == sorted(f.sha256 for f in self.index.files_of(doc)):
            self._tell("sample_same", Mark.SAME, doc, "downloaded again: same SHA-256")
            return
        self._tell("sample_changed", Mark.CHANGED, doc, "downloaded again: different content")

    def _tell(self, kind: str, mark: Mark, doc: ExportedDocument, why: str) -> None:
        check = FileCheck(mark, f"DocuWare document {doc.document_id}", why)
        self.result.add(kind, check)
        self.on_finding(check)


def _hashes(path: Path, unpack_zip: bool) -> list[str]:
    """The SHA-256 of the download, or of each member when the job unpacked such ZIPs."""
    if unpack_zip and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return list(_member_hashes(archive))
    with path.open("rb") as reader:
        return [hashlib.file_digest(reader, "sha256").hexdigest()]


def _member_hashes(archive: zipfile.ZipFile) -> Iterator[str]:
    for info in archive.infolist():
        if not info.is_dir():
            with archive.open(info) as member:
                yield hashlib.file_digest(member, "sha256").hexdigest()  # type: ignore[arg-type]
