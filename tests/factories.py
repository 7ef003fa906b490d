"""Rows for tests that need a job in the store without going through the service."""

from __future__ import annotations

from typing import Any

from exmado_tui.store.models import Job


def insert_job(job_id: str, status: str = "PENDING", **values: Any) -> str:
    """A bare job row in `status`; `values` override any column."""
    Job.create(
        **{
            "id": job_id,
            "name": "test",
            "status": status,
            "config": {},
            "workbook_name": "w.xlsx",
            "workbook_path": "/tmp/w.xlsx",
            "workbook_sha256": "0" * 64,
            "output_dir": "/tmp/out",
            **values,
        }
    )
    return job_id
