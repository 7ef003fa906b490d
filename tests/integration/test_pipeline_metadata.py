"""Each exported document's index fields, kept in the store by the pipeline (in-process,
against the FakeClient)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from exmado_tui.docuware.values import IndexData
from exmado_tui.output import report
from exmado_tui.output.report import INDEX_NAME
from exmado_tui.output.verify import verify_job
from exmado_tui.store.models import Job, JobFile, JobRow
from tests.pipeline_harness import Pipeline


@pytest.fixture
def pipeline(tmp_path: Path, redis_url: str) -> Pipeline:
    return Pipeline(tmp_path, redis_url)


def test_each_file_row_keeps_its_documents_index_fields(pipeline: Pipeline) -> None:
    job_id = pipeline.create(["100002", "100025"])
    pipeline.run(job_id)
    kept = {f.document_id: IndexData.read(f.index_data) for f in JobFile.select()}
    assert set(kept) == {"2", "25", "1025"}
    assert kept["2"].fields == {
        "INVOICE_NO": "100002",
        "SUPPLIER": "Müller & Söhne",
        "DOC_DATE": date(2023, 3, 3),
    }
    assert kept["1025"].fields["DOC_DATE"] == date(2024, 2, 1)
    assert kept["2"].content_type == "application/pdf" and kept["2"].sections == 1


def test_a_document_placed_by_an_earlier_run_keeps_its_fields_for_a_later_row(
    pipeline: Pipeline,
) -> None:
    """Retried, a row whose document an earlier run placed records it again, with fields."""
    job_id = pipeline.create(["100002", "100002 "])
    pipeline.run(job_id)
    second = JobRow.get(JobRow.row_number == 3)
    JobFile.delete().where(JobFile.row == second.id).execute()
    JobRow.update(status="pending", duplicate_of=None).where(JobRow.id == second.id).execute()
    Job.update(status="RUNNING", worker="").where(Job.id == job_id).execute()
    pipeline.run(job_id)
    assert pipeline.client.downloads[2] == 1  # the earlier run's file, not fetched again
    rows = JobFile.select().where(JobFile.row == second.id)
    assert [IndexData.read(f.index_data).fields["INVOICE_NO"] for f in rows] == ["100002"]


class Killed(BaseException):
    """The worker's process ending mid-write, as kill -9 would (nothing after it runs)."""


def test_a_run_killed_among_the_sidecars_writes_the_rest_once_when_resumed(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = pipeline.create(["100001", "100002", "100003", "100025"], metadata=["json", "csv"])
    written: Counter[str] = Counter()  # sidecar → times written, over both runs
    place = report._place
    kill_after: list[int] = [2]

    def counted(target: Path, data: bytes, job: str) -> bool:
        if sum(written.values()) == kill_after[0]:
            raise Killed
        wrote = place(target, data, job)
        written[str(target)] += wrote
        return wrote

    monkeypatch.setattr(report, "_place", counted)
    with pytest.raises(Killed):
        pipeline.run(job_id)
    kill_after[0] = -1
    Job.update(status="RUNNING", worker="").where(Job.id == job_id).execute()  # nobody holds it

    job = pipeline.run(job_id, token="m2")
    out = Path(job.output_dir)
    sidecars = sorted(f"{p}.json" for p in out.rglob("*.pdf"))
    assert len(sidecars) == 5 and sorted(str(p) for p in out.rglob("*.pdf.json")) == sidecars
    assert sorted(written) == sidecars and set(written.values()) == {1}  # each once, none lost
    assert (out / INDEX_NAME).is_file()
    marks = Counter(c.mark for c in verify_job(job_id, pipeline.settings).folder.differences)
    assert marks == Counter()  # every file, sidecar and index.csv as the manifest says
