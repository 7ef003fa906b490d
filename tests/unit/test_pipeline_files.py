"""Placing a download: its `.part` file is fsynced before it takes its final name."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import io
import os
import queue
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

from exmado_tui.config.profiles import Profile
from exmado_tui.config.templates import Values
from exmado_tui.docuware.budget import RowPermits
from exmado_tui.docuware.errors import IncompleteDownloadError, NotFoundError
from exmado_tui.errors import NoSpaceError
from tests.pipeline_harness import FakeClient, FakeDoc
from workers.pipeline import files
from workers.pipeline.files import Placer
from workers.pipeline.rows import Inbox, RowEngine, RowTask

# Each document as a file named by its invoice number, in the output folder itself.
# No templates: files are named by their document id (`<id>.pdf`), in the output folder.
BY_ID = Profile.from_dict({
    "name": "t", "cabinet": "Invoices", "columns": {"Invoice number": "INVOICE_NO"},
})  # fmt: skip


def test_the_part_file_is_fsynced_before_its_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        steps.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source: Any, target: Any) -> None:
        steps.append(("replace", str(source)))
        real_replace(source, target)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    doc = FakeDoc(7, {"INVOICE_NO": "100007"})
    placer = Placer(FakeClient([doc]), BY_ID, tmp_path, {}, "j1", permits=RowPermits(2))
    placed = asyncio.run(placer.place(doc, Values(doc.fields, {}, row=2, docid=7)))
    assert (tmp_path / placed.records[0].path).read_bytes() == b"%PDF document 7"
    part = next(path for step, path in steps if step == "replace")
    assert part.endswith(files.PART_SUFFIX) and Path(part).name.startswith(".exmado-j1-")
    assert steps.index(("fsync", part)) < steps.index(("replace", part))


def test_placed_documents_leave_nothing_in_flight_behind(tmp_path: Path) -> None:
    """A long job's placer keeps what it placed in `known`, not a done future per document."""
    docs = [FakeDoc(i, {"INVOICE_NO": str(100000 + i)}) for i in range(1, 51)]
    placer = Placer(FakeClient(docs), BY_ID, tmp_path, {}, "j1", permits=RowPermits(2))

    async def place_all() -> None:
        for doc in docs + docs[:5]:
            await placer.place(doc, Values(doc.fields, {}, row=2, docid=doc.id))

    asyncio.run(place_all())
    assert placer._inflight == {}
    assert len(placer.known) == 50 and len(list(tmp_path.iterdir())) == 50


def test_a_run_cleans_its_own_part_files_not_another_job_s(tmp_path: Path) -> None:
    """Two jobs may write into one folder: a retry of one must not delete the other's downloads."""
    mine = files.part_path(tmp_path / "2024", "a" * 32)
    theirs = files.part_path(tmp_path / "2024", "b" * 32)
    legacy = tmp_path / f"{files.PART_PREFIX}{'c' * 32}{files.PART_SUFFIX}"  # before job ids
    member = mine.with_name(f"{mine.stem}-0{files.PART_SUFFIX}")  # a ZIP member being unpacked
    mine.parent.mkdir()
    for path in (mine, theirs, legacy, member):
        path.write_bytes(b"partial")
    assert files.remove_partials(tmp_path, "a" * 32) == 3
    assert [p.name for p in tmp_path.rglob("*.part")] == [theirs.name]


class ZipClient(FakeClient):
    """DocuWare answering each download with the document's body as a `.zip`."""

    async def download(self, doc: FakeDoc, dest: Path, **_: Any) -> Any:
        result = await super().download(doc, dest, target="Zip", keep_annotations=False)
        return dataclasses.replace(result, filename=f"{doc.id}.zip", content_type="application/zip")


UNPACKING = Profile.from_dict({
    "name": "t", "cabinet": "Invoices", "columns": {"Invoice number": "INVOICE_NO"},
    "filename_template": "{INVOICE_NO}", "unpack_zip": True,
})  # fmt: skip


def zip_of(**members: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, size in members.items():
            bundle.writestr(f"{name}.pdf", b"%PDF" + b"\0" * (size - 4))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("members", "refusal"),
    [
        ({"a": 30_000, "big": 300_000}, "holds 'big.pdf' of 0.3 MB, more than [jobs] "
         "unzip_member_max_mb = 0.25 allows; raise it, or keep ZIPs whole with the "
         "profile's unpack_zip = false."),
        ({f"m{i}": 200_000 for i in range(6)}, "unpacks to 1.1 MB, more than [jobs] "
         "unzip_total_max_mb = 1 allows"),
    ],
)  # fmt: skip
def test_a_zip_past_the_limits_fails_its_row_and_leaves_nothing(
    tmp_path: Path, members: dict[str, int], refusal: str
) -> None:
    profile = UNPACKING
    doc = FakeDoc(7, {"INVOICE_NO": "100007"}, body=zip_of(**members))
    limits = files.ZipLimits(member_mb=0.25, total_mb=1)
    placer = Placer(ZipClient([doc]), profile, tmp_path, {}, "j1", limits, permits=RowPermits(2))
    with pytest.raises(files.ZipTooLargeError) as refused:
        asyncio.run(placer.place(doc, Values(doc.fields, {}, row=2, docid=7)))
    assert str(refused.value).startswith("The ZIP from DocuWare ")
    assert refusal in str(refused.value)
    assert list(tmp_path.iterdir()) == []  # no member, no archive, no .part


def test_a_zip_within_the_limits_is_unpacked(tmp_path: Path) -> None:
    profile = UNPACKING
    doc = FakeDoc(7, {"INVOICE_NO": "100007"}, body=zip_of(a=200_000, b=200_000))
    placer = Placer(
        ZipClient([doc]),
        profile,
        tmp_path,
        {},
        "j1",
        files.ZipLimits(0.25, 1),
        permits=RowPermits(2),
    )
    placed = asyncio.run(placer.place(doc, Values(doc.fields, {}, row=2, docid=7)))
    assert sorted(r.path for r in placed.records) == ["100007 - a.pdf", "100007 - b.pdf"]


class BreakingClient(FakeClient):
    """DocuWare whose first `breaks` downloads break off halfway through the body."""

    breaks = 0

    async def download(self, doc: FakeDoc, dest: Path, **options: Any) -> Any:
        if self.breaks:
            self.breaks -= 1
            dest.write_bytes(b"%PDF half")
            raise IncompleteDownloadError("The download broke off after 9 bytes.", path="/x")
        return await super().download(doc, dest, **options)


@pytest.mark.parametrize(("breaks", "placed"), [(files.WHOLE_TRIES - 1, True), (9, False)])
def test_a_download_that_breaks_off_is_fetched_again_a_few_times(
    tmp_path: Path, breaks: int, placed: bool
) -> None:
    doc = FakeDoc(7, {"INVOICE_NO": "100007"})
    client = BreakingClient([doc])
    client.breaks = breaks
    placer = Placer(client, UNPACKING, tmp_path, {}, "j1", permits=RowPermits(2))
    place = placer.place(doc, Values(doc.fields, {}, row=2, docid=7))
    if placed:
        assert asyncio.run(place).records[0].path == "100007.pdf"
    else:
        with pytest.raises(IncompleteDownloadError):
            asyncio.run(place)
        assert client.breaks == 9 - files.WHOLE_TRIES
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".part"]


@pytest.mark.parametrize("overwriting", [False, True])
def test_a_row_cut_while_its_file_is_renamed_ends_once_the_rename_is_undone_or_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overwriting: bool
) -> None:
    """A pause's or cancel's grace can run out while the rename runs in its thread: the row
    stays pending, so the file that lands must go again (seen as 160 PDFs for 159 records).
    One that replaced another's file stays, and its overwrite is told. Both are done by the
    time the cut row ends: whoever cut it takes the cut events then (the runner, once its
    engine has ended), and nothing tells what comes after. The rename is held until the
    cut has reached the row."""
    renamed, go_on = threading.Event(), threading.Event()
    real_move = files.move_into_place

    def held_move(temp: Path, target: Path, **how: bool) -> None:
        real_move(temp, target, **how)
        renamed.set()
        assert go_on.wait(10)  # the thread comes back only once the row is cut

    monkeypatch.setattr(files, "move_into_place", held_move)
    doc = FakeDoc(7, {"INVOICE_NO": "100007"})
    if overwriting:
        (tmp_path / "7.pdf").write_bytes(b"someone else's file")
    profile = dataclasses.replace(BY_ID, on_existing="overwrite")
    placer = Placer(FakeClient([doc]), profile, tmp_path, {}, "j1", permits=RowPermits(2))

    async def cut_while_renaming() -> tuple[list[str], set[str], list[str]]:
        row = asyncio.create_task(placer.place(doc, Values(doc.fields, {}, row=2, docid=7)))
        assert await asyncio.to_thread(renamed.wait, 5)
        row.cancel()  # reaches the row at the loop's next turn, before the thread's end can
        go_on.set()
        with pytest.raises(asyncio.CancelledError):
            await row
        # as the row's end left them
        left = [p.name for p in tmp_path.iterdir()]
        return left, set(placer.ours), [e.text for e in placer.take_cut_events()]

    left, ours, told = asyncio.run(cut_while_renaming())
    assert left == (["7.pdf"] if overwriting else [])
    assert ours == ({"7.pdf"} if overwriting else set())
    assert told == (["Overwrote 7.pdf (different content)."] if overwriting else [])


class HoldsSecond(FakeClient):
    """Downloads the first document; the second one's download hangs until the row is cut."""

    def __init__(self, docs: list[FakeDoc]) -> None:
        super().__init__(docs)
        self.second_started = asyncio.Event()

    async def download(self, doc: FakeDoc, dest: Path, **kwargs: Any) -> Any:
        if doc.id == self.docs[-1].id:
            self.second_started.set()
            await asyncio.Event().wait()
        return await super().download(doc, dest, **kwargs)


def test_a_row_cut_between_its_documents_takes_back_the_files_it_placed(tmp_path: Path) -> None:
    """on_multiple = all: a cut after the first of two files leaves the row pending, so the
    first file goes too; one another row was given stays."""
    docs = [FakeDoc(1, {"INVOICE_NO": "100001"}), FakeDoc(2, {"INVOICE_NO": "100001"})]
    client = HoldsSecond(docs)
    profile = dataclasses.replace(BY_ID, on_multiple="all")
    placer = Placer(client, profile, tmp_path, {}, "j1", permits=RowPermits(2))
    engine = RowEngine(client, profile, placer, queue.Queue())
    row = RowTask(1, 2, "100001", {"Invoice number": "100001"})

    given: list[str] = []

    async def cut_between_documents(shared: bool) -> None:
        await engine.prepare()
        client.second_started.clear()
        task = asyncio.create_task(engine.process(row, docs))
        await asyncio.wait_for(client.second_started.wait(), 5)
        if shared:  # another row is handed the first document meanwhile, and recorded
            other = await placer.place(docs[0], Values(docs[0].fields, {}, row=3, docid=1))
            given.extend(r.path for r in other.records)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    async def cut_twice() -> list[list[str]]:
        await cut_between_documents(shared=False)
        left = sorted(p.name for p in tmp_path.iterdir())
        await cut_between_documents(shared=True)
        return [left, sorted(p.name for p in tmp_path.iterdir())]

    alone, shared = asyncio.run(cut_twice())
    assert alone == [] and shared == given and len(given) == 1


class RefusesSecond(FakeClient):
    """Downloads the first document; DocuWare no longer has the second (404: for good)."""

    async def download(self, doc: FakeDoc, dest: Path, **kwargs: Any) -> Any:
        if doc.id == self.docs[-1].id:
            raise NotFoundError(f"Document {doc.id} does not exist.", status=404)
        return await super().download(doc, dest, **kwargs)


def test_a_row_failing_after_its_first_document_keeps_that_file_and_its_event(
    tmp_path: Path,
) -> None:
    """The first file is on disk (over another's file): the failed row records it and says
    it overwrote, rather than leave a file without a record and the overwrite untold."""
    docs = [FakeDoc(1, {"INVOICE_NO": "100001"}), FakeDoc(2, {"INVOICE_NO": "100001"})]
    (tmp_path / "100001.pdf").write_bytes(b"someone else's file")
    client = RefusesSecond(docs)
    profile = dataclasses.replace(
        BY_ID, filename_template="{INVOICE_NO}", on_multiple="all", on_existing="overwrite"
    )
    placer = Placer(client, profile, tmp_path, {}, "j1", permits=RowPermits(2))
    engine = RowEngine(client, profile, placer, queue.Queue())
    row = RowTask(1, 2, "100001", {"Invoice number": "100001"})

    async def run_row() -> Any:
        await engine.prepare()
        return await engine.process(row, docs)

    result = asyncio.run(run_row())
    assert result.status == "failed" and "Document 2 does not exist" in result.error
    assert [(r.document_id, r.path) for r in result.files] == [("1", "100001.pdf")]
    assert [e.text for e in result.events] == ["Overwrote 100001.pdf (different content)."]


def test_a_zip_member_failing_keeps_the_members_placed_before_it(tmp_path: Path) -> None:
    """Member a overwrites another's file, member b meets a folder at its name: the row
    fails, with member a's file and the overwrite it made."""
    doc = FakeDoc(7, {"INVOICE_NO": "100007"}, body=zip_of(a=100, b=100))
    (tmp_path / "100007 - a.pdf").write_bytes(b"someone else's file")
    (tmp_path / "100007 - b.pdf").mkdir()
    client = ZipClient([doc])
    profile = dataclasses.replace(UNPACKING, on_existing="overwrite")
    placer = Placer(client, profile, tmp_path, {}, "j1", permits=RowPermits(2))
    engine = RowEngine(client, profile, placer, queue.Queue())
    row = RowTask(1, 2, "100007", {"Invoice number": "100007"})

    async def run_row() -> Any:
        await engine.prepare()
        return await engine.process(row, [doc])

    result = asyncio.run(run_row())
    assert result.status == "failed" and "IsADirectoryError" in result.error
    assert [r.path for r in result.files] == ["100007 - a.pdf"]
    assert [e.text for e in result.events] == ["Overwrote 100007 - a.pdf (different content)."]


class SecondWaitsThirdFindsTheDiskFull(FakeClient):
    """Document 2's download waits and, once cut, closes its connection over a few turns of
    the loop (as a real one does); document 3's, once 2's has begun, meets a full disk."""

    def __init__(self, docs: list[FakeDoc]) -> None:
        super().__init__(docs)
        self.second_started = asyncio.Event()

    async def download(self, doc: FakeDoc, dest: Path, **kwargs: Any) -> Any:
        if doc.id == 2:
            self.second_started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                for _ in range(3):
                    await asyncio.sleep(0)
                raise
        if doc.id == 3:
            await self.second_started.wait()
            raise OSError(errno.ENOSPC, "No space left on device")
        return await super().download(doc, dest, **kwargs)


def test_a_row_failing_the_run_ends_the_engine_once_the_rows_it_cut_have_ended(
    tmp_path: Path,
) -> None:
    """Invoice 100001's document 1 overwrites another's file, and its document 2 is still
    downloading when invoice 100002's row meets a full disk, which ends the engine and cuts
    the other rows. The runner takes the cut events once the engine has ended: by then the
    cut row must have told its overwrite."""
    docs = [
        FakeDoc(1, {"INVOICE_NO": "100001"}),
        FakeDoc(2, {"INVOICE_NO": "100001"}),
        FakeDoc(3, {"INVOICE_NO": "100002"}),
    ]
    (tmp_path / "1.pdf").write_bytes(b"someone else's file")
    client = SecondWaitsThirdFindsTheDiskFull(docs)
    profile = dataclasses.replace(BY_ID, on_multiple="all", on_existing="overwrite")
    placer = Placer(client, profile, tmp_path, {}, "j1", permits=RowPermits(2))
    engine = RowEngine(client, profile, placer, queue.Queue())

    async def serve_both() -> list[str]:
        await engine.prepare()
        inbox: Inbox = asyncio.Queue()
        for number, key in enumerate(["100001", "100002"], start=2):
            inbox.put_nowait(RowTask(number, number, key, {"Invoice number": key}))
        with pytest.raises(NoSpaceError):
            await engine.serve(inbox)
        return [e.text for e in placer.take_cut_events()]  # as the engine's end left them

    assert asyncio.run(serve_both()) == ["Overwrote 1.pdf (different content)."]
