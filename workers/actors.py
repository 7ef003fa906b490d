"""Thin actors: load the job and hand it to the pipeline.

Retries (transient errors only) and the time limit are the broker's middleware defaults, set
once in `workers.broker.build_broker`.
"""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage

from exmado_tui.services.queue import JOBS_QUEUE, RUN_JOB
from workers.broker import MAX_RETRIES, current_runtime
from workers.pipeline import run_job as run_pipeline


@dramatiq.actor(actor_name=RUN_JOB, queue_name=JOBS_QUEUE)
def run_job(job_id: str) -> None:
    """Run (or continue) one job until it ends, pauses or must wait."""
    message = CurrentMessage.get_current_message()
    token = message.message_id if message is not None else job_id
    retries = message.options.get("retries", 0) if message is not None else 0
    run_pipeline(job_id, current_runtime(), token=token, last_attempt=retries >= MAX_RETRIES)
