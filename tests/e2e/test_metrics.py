"""`/metrics` of a host running two worker processes: the counts add up to the jobs' rows and
files, whichever process did them, and every sample names the host."""

from __future__ import annotations

import json
import urllib.request
from collections import defaultdict
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from exmado_tui.services.localredis import free_port
from exmado_tui.store.models import Job
from exmado_tui.store.queries import get_job
from tests.reliability.harness import Exmado, wait_for

Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    found: Samples = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return found


def total(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for k, v in samples.get(name, {}).items() if wanted <= set(k))


def answers(url: str) -> Samples | None:
    try:
        return scrape(url)
    except OSError:
        return None


def test_two_worker_processes_count_every_row_and_file_of_the_jobs(exmado: Exmado) -> None:
    port = free_port()
    exmado.configure(f'[metrics]\nlisten = "127.0.0.1:{port}"', max_concurrent_jobs=2)
    exmado.env["EXMADO_HOST_NAME"] = "metrics-host"
    exmado.sandbox.faults.update(latency_ms=40)  # long enough to be scraped while running
    numbers = exmado.sandbox.catalogue.invoice_numbers_with_hits(16)
    missing = exmado.sandbox.catalogue.missing_invoice_numbers(2)
    exmado.start_worker(threads=1, processes=2)
    url = f"http://127.0.0.1:{port}/metrics"
    wait_for(lambda: answers(url), 20, "the metrics to answer")
    jobs = [
        exmado.start_job(exmado.workbook("a.xlsx", numbers[:8] + missing)),
        exmado.start_job(exmado.workbook("b.xlsx", numbers[8:])),
    ]
    during = wait_for(
        lambda: (s := answers(url)) and total(s, "exmado_job_rows_total", status="RUNNING") and s,
        30,
        "a running job in the metrics",
    )
    assert total(during, "exmado_workers_alive") == 2
    assert len(during["exmado_worker_heartbeat_age_seconds"]) == 2
    finished = [exmado.wait(job_id, 60) for job_id in jobs]
    assert [job.status.value for job in finished] == ["COMPLETED_WITH_ERRORS", "COMPLETED"]

    after = scrape(url)
    rows = sum(job.total_rows for job in finished)
    assert rows == 18
    assert total(after, "exmado_rows_total") == rows
    assert total(after, "exmado_rows_total", status="done") == 16
    assert total(after, "exmado_rows_total", status="not_found") == 2
    files = sum(job.files_count for job in finished)
    assert total(after, "exmado_documents_downloaded_total") == files == 16
    assert total(after, "exmado_downloaded_bytes_total") == sum(
        job.bytes_downloaded for job in finished
    )
    for status in ("COMPLETED", "COMPLETED_WITH_ERRORS"):
        assert total(after, "exmado_jobs_finished_total", status=status) == 1
        assert total(after, "exmado_jobs", status=status) == 1
    assert total(after, "dramatiq_messages_total", actor_name="run_job") >= 2
    searches = total(after, "exmado_docuware_requests_total", kind="request", code="200")
    assert searches >= rows // 2  # a search per batch of rows, and a download per file
    assert total(after, "exmado_docuware_sign_ins_total") >= 1
    assert total(after, "exmado_queue_messages", state="ready") == 0
    assert total(after, "exmado_output_free_bytes") > 0
    # both processes counted: each wrote its own file of counters
    folder = Path(exmado.settings.data_dir) / "run" / "metrics"
    assert len({p.stem.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}) == 2
    hosts = {dict(labels)["host"] for by_labels in after.values() for labels in by_labels}
    assert hosts == {"metrics-host"}
    assert get_job(jobs[0]).found_rows == 8 and Job.select().count() == 2
    doctor = json.loads(exmado.cli("doctor", "--json").stdout)
    said = next(check for check in doctor if check["name"] == "metrics")
    assert said["ok"] and not said["warning"]
    assert said["detail"].startswith(f"Prometheus metrics at {url} (")
