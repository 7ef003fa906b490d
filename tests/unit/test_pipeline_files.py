"""Placing a download: its `.part` file is fsynced before it takes its final name."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from exmado_tui.profiles import Profile
from exmado_tui.templates import Values
from tests.unit.test_pipeline_run import FakeClient, FakeDoc
from workers.pipeline import files
from workers.pipeline.files import Placer


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
    profile = Profile.from_dict({
        "name": "t", "cabinet": "Invoices", "columns": {"Invoice number": "INVOICE_NO"},
        "templates": {"folder": "", "filename": "{INVOICE_NO}"},
    })  # fmt: skip
    doc = FakeDoc(7, {"INVOICE_NO": "100007"})
    placer = Placer(FakeClient([doc]), profile, tmp_path, {}, "j1")
    placed = asyncio.run(placer.place(doc, Values(doc.fields, {}, row=2, docid=7)))
    assert (tmp_path / placed.records[0].path).read_bytes() == b"%PDF document 7"
    part = next(path for step, path in steps if step == "replace")
    assert part.endswith(files.PART_SUFFIX) and Path(part).name.startswith(".exmado-j1-")
    assert steps.index(("fsync", part)) < steps.index(("replace", part))


def test_placed_documents_leave_nothing_in_flight_behind(tmp_path: Path) -> None:
    """A long job's placer keeps what it placed in `known`, not a done future per document."""
    profile = Profile.from_dict({
        "name": "t", "cabinet": "Invoices", "columns": {"Invoice number": "INVOICE_NO"},
        "templates": {"folder": "", "filename": "{INVOICE_NO}"},
    })  # fmt: skip
    docs = [FakeDoc(i, {"INVOICE_NO": str(100000 + i)}) for i in range(1, 51)]
    placer = Placer(FakeClient(docs), profile, tmp_path, {}, "j1")

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
