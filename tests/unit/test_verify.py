"""Verification against manifests Éxmado wrote before version 2, or that someone re-indented:
read all the same, and what they lack said in so many words."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from exmado_tui.config.settings import Settings
from exmado_tui.output.verify import FileCheck, Mark, Verdict, verify_job
from exmado_tui.store.models import JobRow
from tests.factories import insert_job

CONTENT = b"%PDF-1.4 invoice"


def old_job(tmp_path: Path) -> Path:
    """A finished job whose folder holds one file and a manifest as version 1 wrote it: no
    number, no server, cabinet or times, no modified dates."""
    folder = tmp_path / "out"
    (folder / "A").mkdir(parents=True)
    (folder / "A" / "1.pdf").write_bytes(CONTENT)
    insert_job("j" * 32, "COMPLETED", output_dir=str(folder))
    JobRow.create(job="j" * 32, row_number=2, key="1", values={}, status="done", documents=1)
    entry = {
        "path": "A/1.pdf",
        "size": len(CONTENT),
        "sha256": hashlib.sha256(CONTENT).hexdigest(),
        "cabinet_id": "c",
        "document_id": "17",
        "rows": [2],
    }
    head = f' "job": "{"j" * 32}",\n "status": "COMPLETED",\n "workbook_sha256": "{"0" * 64}",\n'
    files = f' "files": [\n  {json.dumps(entry)}\n ]\n'
    (folder / "exmado-manifest.json").write_text("{\n" + head + files + "}\n")
    return folder


def test_a_version_1_manifest_is_verified_and_says_what_it_lacks(
    store: Settings, tmp_path: Path
) -> None:
    old_job(tmp_path)
    heard: list[FileCheck] = []
    done = verify_job("j" * 32, store, heard.append)
    assert heard == [FileCheck(Mark.SAME, "A/1.pdf")]
    assert done.verdict is Verdict.ALL_MATCH
    assert done.lacks == [
        "who created the job",
        "who ran it",
        "the DocuWare server",
        "the cabinet",
        "when the job ran",
        "when it finished",
        "the documents' modified dates",
    ]
    assert (
        "manifest (version 1, from an older Éxmado): does not record who created the job"
        in done.summary()
    )


def test_a_reindented_manifest_is_read_whole(store: Settings, tmp_path: Path) -> None:
    folder = old_job(tmp_path)
    manifest = folder / "exmado-manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(data, indent=4))
    (folder / "A" / "1.pdf").write_bytes(CONTENT.upper())
    done = verify_job("j" * 32, store)
    assert done.verdict is Verdict.DIFFERENCES
    assert done.folder.differences == [
        FileCheck(Mark.CHANGED, "A/1.pdf", "same size, different SHA-256")
    ]


def test_a_folder_that_cannot_be_listed_is_a_mark_not_a_traceback(
    store: Settings, tmp_path: Path
) -> None:
    folder = old_job(tmp_path)
    (folder / "A" / "1.pdf").unlink()
    (folder / "A").rmdir()
    (folder / "A").write_text("a file where the folder was")
    done = verify_job("j" * 32, store)
    assert done.folder.counts == {Mark.EXTRA: 1, Mark.UNREADABLE: 1}
    assert done.folder.differences[1] == FileCheck(Mark.UNREADABLE, "A/1.pdf", "Not a directory")
