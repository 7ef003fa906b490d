"""Faults of the SQLite store itself: deleted under a running job, refusing writes for a
while, and a data folder other users could read.

A deleted store is refused by every command and worker (never replaced by an empty one) and,
put back, its job completes; a store whose files refuse writes (`chattr +i` on the database and
its WAL, as the issue did: a real write error, `disk I/O error`) holds the job until they take
writes again, then it completes with every row once and every file recorded.
"""

from __future__ import annotations

import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from exmado_tui.job.new_job import JobRequest
from exmado_tui.store.db import sqlite_file
from tests.reliability.audit import survived
from tests.reliability.faults import QUICK, progressed, start_job
from tests.reliability.harness import Exmado, wait_for
from tests.reliability.tally import Tally

ROWS = 60
# Refusing writes for twice `stale_after_s`: long enough that a silent job could be taken over.
UNWRITABLE_S = 2 * QUICK["stale_after_s"]


def store_of(plant: Exmado) -> Path:
    path = sqlite_file(plant.settings.database_url)
    assert path is not None
    return path


def with_wal(store: Path, *suffixes: str) -> list[Path]:
    return [store, *(store.with_name(store.name + suffix) for suffix in suffixes)]


def under_way(plant: Exmado, name: str) -> tuple[str, list[str]]:
    """A job of `ROWS` rows, 10 of them done."""
    plant.configure(**{**QUICK, "row_concurrency": 2})
    plant.sandbox.faults.update(latency_ms=60)
    plant.start_worker()
    job_id, keys = start_job(plant, name, ROWS)
    progressed(job_id, 10)
    return job_id, keys


def test_a_store_deleted_mid_job_is_refused_not_replaced_and_restored_completes(
    plant: Exmado, tally: Tally
) -> None:
    job_id, keys = under_way(plant, "vanished")
    store = store_of(plant)
    aside = plant.tmp_path / "aside"
    aside.mkdir()
    moved = [p.rename(aside / p.name) for p in with_wal(store, "-wal", "-shm") if p.exists()]

    listed = plant.cli("jobs", "list", "--json")
    assert listed.returncode == 1 and listed.stdout == "", listed
    assert listed.stderr.startswith(f"exmado: The job store {store} is gone"), listed.stderr
    assert listed.stderr.strip().endswith("run `exmado store init` to start an empty one.")
    assert not store.exists()  # no empty store made in its place
    wait_for(lambda: "stops taking rows" in plant.worker_logs(), 30, "the worker to stop")
    assert not store.exists()

    for path in moved:  # restored from the backup: the same store
        path.rename(store.parent / path.name)
    plant.wait(job_id, 90)
    survived(tally, job_id, keys, "store deleted mid-job, then restored")


@contextmanager
def immutable(paths: list[Path]) -> Iterator[None]:
    """`paths` made immutable (`chattr +i`: every write fails) inside the block."""
    made = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make the store immutable here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


def test_a_store_refusing_writes_for_a_while_holds_the_job_then_it_completes(
    plant: Exmado, tally: Tally
) -> None:
    job_id, keys = under_way(plant, "immutable")
    # Not the -shm: SQLite maps it, and a mapped page that cannot be written is SIGBUS.
    with immutable(with_wal(store_of(plant), "-wal")):
        wait_for(lambda: "cannot be written just now" in plant.worker_logs(), 30, "the wait")
        time.sleep(UNWRITABLE_S)  # the fault's length: nothing to wait for
    plant.wait(job_id, 90)
    logs = plant.worker_logs()
    assert "failed unexpectedly" not in logs and "Could not record" not in logs, logs
    survived(tally, job_id, keys, f"store refusing writes {UNWRITABLE_S:g} s")


def test_an_existing_data_folder_and_store_open_to_others_are_made_private(
    plant: Exmado, tally: Tally
) -> None:
    data, store = plant.settings.data_dir, store_of(plant)
    made = plant.service.create(
        JobRequest(plant.workbook("private.xlsx", ["1"]), profile="invoices")
    )
    copy = Path(made.workbook_path)
    shared = {data: 0o755, data / "workbooks": 0o755, store: 0o644}
    for path, mode in shared.items():
        path.chmod(mode)
    listed = plant.cli("jobs", "list")
    assert listed.returncode == 0, listed.stderr
    private = [data, data / "workbooks", store, data / "store-id", copy]
    modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in private}
    held = all(not p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO) for p in private)
    tally.security("an existing data folder 755 and its store 644", held=held)
    assert held, modes
