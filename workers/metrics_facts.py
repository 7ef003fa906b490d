"""The metrics read at scrape time: what the store and Redis say, and the output folder's room.

The figures are `exmado workers`'s own (`exmado_tui.services.worker_facts`), so a graph and the
Workers screen agree. A scrape costs one indexed count of jobs by status, one query of the
jobs held or paused, a few Redis commands (with a short timeout: a Redis away makes a scrape
say `exmado_redis_up 0`, not hang) and a `statvfs`. Cluster-wide figures (the queue, jobs by
status, budgets) are the same from every host; the workers and the output folder are this
host's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import peewee
import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exmado_tui.config.settings import Settings
from exmado_tui.errors import StoreIdentityError
from exmado_tui.files.unwritable import disk_usage
from exmado_tui.job.status import JobStatus
from exmado_tui.services.queue import JobQueue, make_broker, redis_client
from exmado_tui.services.worker_facts import JobFacts, QueueFacts, read_job_facts, read_queue_facts
from exmado_tui.store.db import database
from exmado_tui.store.identity import open_store
from exmado_tui.store.queries import status_counts

log = logging.getLogger("exmado.workers")

REDIS_TIMEOUT_S = 3.0


def gauge(name: str, text: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, labels=list(labels))


class FactsCollector:
    """A custom collector: nothing is kept between scrapes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        client = redis_client(
            settings.broker,
            connect_timeout_s=REDIS_TIMEOUT_S,
            reply_timeout_s=REDIS_TIMEOUT_S,
            once=True,
        )
        self.queue = JobQueue(make_broker(settings.broker, client=client), settings.broker.url)
        self._store_open = False

    def collect(self) -> Iterator[Metric]:
        yield from self._store()
        yield from self._redis()
        yield from self._output()

    def _store(self) -> Iterator[Metric]:
        up = gauge("exmado_store_up", "1 when the job store answered this scrape.")
        try:
            families = self._store_families()
        except (peewee.PeeweeException, StoreIdentityError, OSError) as exc:
            log.warning("Metrics: the job store did not answer (%s)", exc)
            up.add_metric([], 0)
            yield up
            return
        finally:
            if not database.is_closed():
                database.close()
        up.add_metric([], 1)
        yield up
        yield from families

    def _store_families(self) -> list[Metric]:
        if not self._store_open:
            open_store(self.settings)
            self._store_open = True
        database.connect(reuse_if_open=True)
        counts = status_counts()
        jobs = gauge("exmado_jobs", "Jobs in the store, by status.", ("status",))
        for status in JobStatus:
            jobs.add_metric([status.value], counts.get(status, 0))
        return [jobs, *job_families(read_job_facts())]

    def _redis(self) -> Iterator[Metric]:
        up = gauge("exmado_redis_up", "1 when Redis answered this scrape.")
        try:
            facts = read_queue_facts(self.queue)
        except redis.RedisError as exc:
            log.warning("Metrics: Redis did not answer (%s)", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from queue_families(facts, self.settings.host)

    def _output(self) -> Iterator[Metric]:
        usage = disk_usage(self.settings.jobs.output_root)
        if usage is None:
            return
        free = gauge("exmado_output_free_bytes", "Free bytes in [jobs] output_root's disk.")
        free.add_metric([], usage.free)
        size = gauge("exmado_output_size_bytes", "Size of [jobs] output_root's disk.")
        size.add_metric([], usage.total)
        yield from (free, size)


def job_families(facts: JobFacts) -> list[Metric]:
    labels = ("job_id", "name", "status")
    done = gauge("exmado_job_rows_done", "Rows finished of a job held or paused.", labels)
    total = gauge("exmado_job_rows_total", "Rows of a job held or paused.", labels)
    beat = gauge("exmado_job_heartbeat_age_seconds", "Since its worker's last beat.", labels)
    for job in facts.jobs:
        values = [job.id, job.name, job.status.value]
        done.add_metric(values, job.done_rows)
        total.add_metric(values, job.total_rows)
        if (age := facts.heartbeat_age_s(job)) is not None:
            beat.add_metric(values, age)
    waiting = gauge(
        "exmado_queue_oldest_waiting_seconds",
        "How long the oldest started job has waited for a worker (0: none waits).",
    )
    waiting.add_metric([], facts.oldest_waiting_s or 0)
    return [done, total, beat, waiting]


def queue_families(facts: QueueFacts, host: str) -> list[Metric]:
    depth = gauge("exmado_queue_messages", "Job messages in Redis.", ("state",))
    depth.add_metric(["ready"], facts.depth.ready)
    depth.add_metric(["delayed"], facts.depth.delayed)
    depth.add_metric(["dead"], facts.depth.dead)
    mine = [w for w in facts.workers if w.get("host") == host]
    alive = gauge("exmado_workers_alive", "This host's worker processes in the registry.")
    alive.add_metric([], len(mine))
    beat = gauge(
        "exmado_worker_heartbeat_age_seconds", "Since a worker process last said it lives.",
        ("worker",),
    )  # fmt: skip
    for worker in mine:
        if (age := facts.heartbeat_age_s(worker)) is not None:
            beat.add_metric([str(worker.get("id", ""))], age)
    account = ("account",)
    rate = gauge("exmado_docuware_rate_per_second", "The request budget's learned rate.", account)
    cap = gauge("exmado_docuware_rate_cap_per_second", "[docuware] max_requests_per_s.", account)
    throttled = gauge("exmado_docuware_throttled_5m", "429 answers in 5 minutes.", account)
    for budget in facts.budgets:
        rate.add_metric([budget.account], budget.rate)
        cap.add_metric([budget.account], budget.cap)
        throttled.add_metric([budget.account], budget.throttled_5min)
    return [depth, alive, beat, rate, cap, throttled]
