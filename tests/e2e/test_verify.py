"""`exmado jobs verify` on a job a real worker finished against a sandbox of its own over HTTP:
`=` for the intact export, each other mark from a folder tampered with by hand, the rows
accounted for, `--json`, the exit codes, and `--remote` / `--sample` after a document was
modified and another deleted in DocuWare."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exmado_tui.job.new_job import JobRequest
from exmado_tui.sandbox import SandboxConfig, SandboxServer
from tests.cli_runner import run
from tests.reliability.harness import Exmado
from tests.sandbox_login import signed_in_client

MANIFEST = "exmado-manifest.json"


@pytest.fixture
def own_sandbox() -> Iterator[SandboxServer]:
    """A sandbox this test may change (documents modified and deleted) without touching the
    one the other tests share."""
    server = SandboxServer(SandboxConfig(port=0, documents=300, seed=22))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def finished(
    exmado: Exmado, own_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, Path]:
    """A job of three found invoices, one repeated and one not found, COMPLETED_WITH_ERRORS by
    a real worker; the CLI in this process sees the same installation."""
    exmado.env["DOCUWARE_URL"] = own_sandbox.url
    exmado.configure()
    for name, value in exmado.env.items():
        monkeypatch.setenv(name, value)
    exmado.start_worker(threads=1)
    keys = own_sandbox.catalogue.invoice_numbers_with_hits(3)
    book = exmado.workbook("audit.xlsx", [*keys, keys[0], "NO-SUCH-INVOICE"])
    job_id = exmado.start_job(book)
    job = exmado.wait(job_id)
    exmado.stop_workers()
    return job_id, Path(job.output_dir)


def marks(out: str) -> dict[str, str]:
    """path → mark of each file line."""
    lines = [line.split("  (")[0] for line in out.splitlines() if line[:2] in MARKS]
    return {line[2:]: line[0] for line in lines}


MARKS = ("= ", "* ", "- ", "+ ", "! ")


@pytest.mark.slow
def test_an_intact_export_then_each_mark_from_a_tampered_folder(
    finished: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    job_id, folder = finished
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["server"].startswith("http://127.0.0.1:")
    assert manifest["cabinet"] == "Invoices" and "(CLI)" in manifest["started_by"]
    assert all(entry["modified"].endswith("Z") for entry in manifest["files"])
    paths = sorted(entry["path"] for entry in manifest["files"])
    assert len(paths) >= 3

    code, out, _ = run(capsys, "jobs", "verify", job_id[:8])
    assert code == 0, out
    assert marks(out) == dict.fromkeys(paths, "=")
    assert "rows: 5 (3 exported, 1 not found, 1 skipped, 0 failed)" in out
    assert out.rstrip().endswith("all match.")

    changed, missing, blocked = (folder / p for p in paths[:3])
    content = bytearray(changed.read_bytes())
    content[-1] ^= 0xFF  # same size, different content: only the hash can tell
    changed.write_bytes(bytes(content))
    missing.unlink()
    blocked.unlink()
    os.mkfifo(blocked)  # opens, but is no file: `!` (a chmod 000 would not stop root)
    (folder / "sub").mkdir()
    (folder / "sub" / "added by hand.txt").write_text("not exported")

    code, out, _ = run(capsys, "jobs", "verify", job_id)
    assert code == 1
    assert marks(out) == {
        **dict.fromkeys(paths[3:], "="),
        paths[0]: "*",
        paths[1]: "-",
        paths[2]: "!",
        "sub/added by hand.txt": "+",
    }
    assert "1 changed, 1 missing, 1 extra, 1 unreadable" in out

    code, out, _ = run(capsys, "jobs", "verify", job_id, "--json")
    answer = json.loads(out)
    assert (code, answer["result"], answer["exit_code"]) == (1, "differences", 1)
    assert answer["files"] == {"=": len(paths) - 3, "*": 1, "-": 1, "+": 1, "!": 1}
    assert {d["path"]: d["mark"] for d in answer["differences"]}[paths[0]] == "*"
    assert answer["rows"]["done"] == 3 and answer["rows"]["skipped"] == 1

    events = run(capsys, "jobs", "events", job_id)[1]
    assert "Verified by " in events and "(CLI): files: " in events


@pytest.mark.slow
def test_remote_sees_documents_modified_or_deleted_in_docuware(
    finished: tuple[str, Path], own_sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id, folder = finished
    entries = json.loads((folder / MANIFEST).read_text())["files"]
    modified, deleted = entries[0], entries[-1]
    assert modified["document_id"] != deleted["document_id"]
    code, out, _ = run(capsys, "jobs", "verify", job_id, "--remote")
    assert code == 0, out
    assert "DocuWare: 3 documents asked, 0 modified since, 0 deleted" in out

    cabinet = f"/DocuWare/Platform/FileCabinets/{modified['cabinet_id']}/Documents"
    with signed_in_client(own_sandbox.url) as client:
        change = {"Field": [{"FieldName": "STATUS", "Item": "Disputed"}]}
        client.put(f"{cabinet}/{modified['document_id']}/Fields", json=change).raise_for_status()
        client.delete(f"{cabinet}/{deleted['document_id']}").raise_for_status()

    code, out, _ = run(capsys, "jobs", "verify", job_id, "--sample", "100%", "--json")
    remote = json.loads(out)["remote"]
    assert code == 1
    assert (remote["asked"], remote["modified"], remote["deleted"]) == (3, 1, 1)
    # The deleted one cannot be downloaded again; the modified one's content changed with it.
    assert (remote["sampled"], remote["sample_changed"], remote["sample_same"]) == (2, 1, 1)
    found = sorted((f["path"], f["mark"], f["reason"][:20]) for f in remote["findings"])
    deleted_doc, modified_doc = (
        f"DocuWare document {d['document_id']}" for d in (deleted, modified)
    )
    assert found == sorted(
        [
            (deleted_doc, "-", "deleted in DocuWare "),
            (modified_doc, "*", "modified in DocuWare"),
            (modified_doc, "*", "downloaded again: di"),
        ]
    )

    own_sandbox.stop()
    started = time.monotonic()
    code, out, err = run(capsys, "jobs", "verify", job_id, "--remote")
    assert code == 3 and "could not verify" in err, err
    print(f"DocuWare down: said in {time.monotonic() - started:.1f} s")


def test_usage_and_a_missing_manifest(
    exmado: Exmado, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in exmado.env.items():
        monkeypatch.setenv(name, value)
    book = exmado.workbook("w.xlsx", ["1"])
    job_id = exmado.service.create(JobRequest(book, profile="invoices")).id
    code, _, err = run(capsys, "jobs", "verify", job_id)
    assert code == 3 and "There is no manifest at " in err
    assert "could not be done: There is no manifest" in run(capsys, "jobs", "events", job_id)[1]
    with pytest.raises(SystemExit) as usage:
        run(capsys, "jobs", "verify", job_id, "--sample", "0%")
    assert usage.value.code == 2
    assert run(capsys, "jobs", "verify", "ffffffff")[0] == 2
