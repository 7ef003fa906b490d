"""Rows for tests that need a job in the store without going through the service, and
DocuWare's index fields as it sends them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from exmado_tui.store.db import utcnow
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


def beat_ago(seconds: float) -> datetime:
    """A heartbeat `seconds` old: a holder silent that long, without waiting for it (the
    takeover compares the stored beat with the store's clock, so an old beat is the same as
    time gone by)."""
    return utcnow() - timedelta(seconds=seconds)


def field(name: str, kind: str, item: Any) -> dict[str, Any]:
    """A DocumentIndexField as DocuWare sends it (`ItemElementName`: String, Date, Keywords…)."""
    return {"FieldName": name, "ItemElementName": kind, "Item": item, "IsNull": item is None}


# A table field's value: two rows, the second without the DUE column.
TABLE = {
    "Row": [
        {
            "ColumnValue": [
                field("POSITION", "Int", 1),
                field("PRICE", "Decimal", 9.5),
                field("DUE", "Date", "/Date(1706745600000)/"),
            ]
        },
        {"ColumnValue": [field("POSITION", "Int", 2), field("PRICE", "Decimal", "-3")]},
    ]
}
