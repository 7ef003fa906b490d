"""Writing row results back: one statement for many rows, each row as its own UPDATE left it."""

from __future__ import annotations

from pathlib import Path

from exmado_tui.job.status import Event
from exmado_tui.store.models import Job, JobEvent, JobRow
from workers.pipeline import progress
from workers.pipeline.files import FileRecord
from workers.pipeline.rows import RowResult, RowTask


def job_with_rows(tmp_path: Path, count: int) -> list[JobRow]:
    Job.create(
        id="j1", name="March", status="RUNNING", config={}, workbook_name="w.xlsx",
        workbook_path=str(tmp_path / "w.xlsx"), workbook_sha256="0" * 64,
        output_dir=str(tmp_path / "out"),
    )  # fmt: skip
    return [JobRow.create(job="j1", row_number=n + 2, key=str(n), values={}) for n in range(count)]


def result(row: JobRow, status: str, error: str = "", documents: int = 0) -> RowResult:
    task = RowTask(row.id, row.row_number, row.key, {})
    return RowResult(task, status, error, documents=documents)


def test_each_row_gets_its_own_status_error_and_count(store, tmp_path: Path) -> None:
    rows = job_with_rows(tmp_path, 6)
    progress.flush("j1", [
        result(rows[0], "done", documents=1),
        result(rows[1], "not_found", "No document matches INVOICE_NO = '1'."),
        result(rows[2], "not_found", "No document matches INVOICE_NO = '2'."),
        result(rows[3], "done", documents=2),
        result(rows[4], "failed", "x" * (progress.ERROR_LENGTH + 10)),
    ])  # fmt: skip
    got = {r.id: (r.status, r.error, r.documents, r.attempts) for r in JobRow.select()}
    assert got == {
        rows[0].id: ("done", "", 1, 1),
        rows[1].id: ("not_found", "No document matches INVOICE_NO = '1'.", 0, 1),
        rows[2].id: ("not_found", "No document matches INVOICE_NO = '2'.", 0, 1),
        rows[3].id: ("done", "", 2, 1),
        rows[4].id: ("failed", "x" * progress.ERROR_LENGTH, 0, 1),
        rows[5].id: ("pending", "", 0, 0),
    }
    assert Job.get_by_id("j1").done_rows == 5


def test_only_pending_rows_are_written_and_a_row_keeps_its_first_result(
    store, tmp_path: Path
) -> None:
    rows = job_with_rows(tmp_path, 3)
    progress.flush("j1", [result(rows[0], "done", documents=1)])
    progress.flush("j1", [
        result(rows[0], "failed", "late"),
        result(rows[1], "not_found", "first"),
        result(rows[1], "done", documents=1),
    ])  # fmt: skip
    got = {r.id: (r.status, r.error, r.attempts) for r in JobRow.select()}
    assert got[rows[0].id] == ("done", "", 1)
    assert got[rows[1].id] == ("not_found", "first", 1)


def test_many_rows_are_written_in_chunks(store, tmp_path: Path) -> None:
    rows = job_with_rows(tmp_path, progress.UPDATE_ROWS * 2 + 5)
    errors = [f"Row {r.row_number}: no." for r in rows]
    progress.flush("j1", [result(r, "not_found", e) for r, e in zip(rows, errors, strict=True)])
    assert [r.error for r in JobRow.select().order_by(JobRow.row_number)] == errors


def test_row_events_are_stored_with_their_control_characters_visible(store, tmp_path: Path) -> None:
    """Like every other event (`events.store_event`): the log is shown on terminals."""
    rows = job_with_rows(tmp_path, 1)
    done = result(rows[0], "done", documents=1)
    done.events.append(Event("Overwrote \x1b[2J.pdf (different content).", "warning"))
    progress.flush("j1", [done], [Event("held\x00back")])
    assert sorted(e.message for e in JobEvent.select()) == [
        "Overwrote \\x1b[2J.pdf (different content).",
        "held\\x00back",
    ]


def counters() -> tuple[int, ...]:
    job = Job.get_by_id("j1")
    return (
        job.done_rows, job.found_rows, job.not_found_rows, job.ambiguous_rows, job.failed_rows,
        job.skipped_rows, job.files_count, job.bytes_downloaded,
    )  # fmt: skip


def test_a_flush_adds_to_the_counters_what_a_recount_would_find(store, tmp_path: Path) -> None:
    rows = job_with_rows(tmp_path, 8)
    progress.recount("j1")  # as a run begins

    def with_files(row: JobRow, *files: tuple[str, int]) -> RowResult:
        done = result(row, "done", documents=len(files))
        done.files = [FileRecord(f"d{row.id}", "c", path, size, "0" * 64) for path, size in files]
        return done

    batches = [
        [with_files(rows[0], ("a.pdf", 10)), result(rows[1], "not_found", "no")],
        # a second row's document at a path already counted (shared), one new, one duplicate row
        [with_files(rows[2], ("a.pdf", 10), ("b.pdf", 5)), result(rows[1], "failed", "late")],
        # the same path again with a larger file (overwritten), and a row as a skipped duplicate
        [with_files(rows[3], ("b.pdf", 9)), result(rows[4], "skipped")],
        [result(rows[5], "ambiguous")],
        [result(rows[6], "failed", "x"), with_files(rows[7], ("c/d.pdf", 1), ("c/d.pdf", 1))],
        [with_files(rows[0], ("z.pdf", 100))],  # a row no longer pending: its file still stored
    ]  # fmt: skip
    seen = []
    for batch in batches:
        progress.flush("j1", batch)
        added = counters()
        progress.recount("j1")
        assert added == counters()
        seen.append(added)
    assert seen[-1] == (8, 4, 1, 1, 1, 1, 4, 10 + 9 + 1 + 100)
