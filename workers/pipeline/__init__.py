"""The download pipeline: validate → ingest → search → download → organise → report.

`run_job` is what the actor calls. The job store is written only from the actor's thread
(`runner`); the HTTP side runs on the process's event loop (`rows`, `files`), and the two meet
through a queue of row results that `progress` writes back in batches.
"""

from workers.pipeline.runner import run_job

__all__ = ["run_job"]
