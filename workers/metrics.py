"""Prometheus metrics of this host's workers (`[metrics] listen`), right across Dramatiq's
worker processes: the counters each process adds to, and the facts read at each scrape.

It follows Dramatiq's own `dramatiq.middleware.prometheus`: prometheus-client's multiprocess
mode (each worker process writes its counters to files in one folder, which `exmado worker`
empties as it starts: `supervision`), and a fork process of Dramatiq's own serving them all
over HTTP. It gives what Dramatiq's gives under the same names (messages, errors, retries,
dead letters, in progress, durations), with duration buckets up to four hours since one
message is one whole job; and what Dramatiq's lacks: rows by what became of them, documents
and bytes downloaded, DocuWare answers by code, sign-ins, jobs finished by status. At each
scrape it adds what the store and Redis say (`FactsCollector`), and a `host` label on every
sample.

The facts are `exmado workers`'s own figures (`exmado_tui.services.worker_facts`), so a graph
and the Workers screen agree. A scrape costs one indexed count of jobs by status, one query of
the jobs held or paused, a few Redis commands (with a short timeout: a Redis away makes a
scrape say `exmado_redis_up 0`, not hang) and a `statvfs`. Cluster-wide figures (the queue,
jobs by status, budgets) are the same from every host; the workers and the output folder are
this host's.

Not Dramatiq's class itself: it reads its folder, address and port from environment
variables when imported, listens on 0.0.0.0 by default and has no room for our figures.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import peewee
import redis
from dramatiq import Broker
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import Settings
from exmado_tui.docuware.budget_store import Kind
from exmado_tui.docuware.connection import install_tally
from exmado_tui.errors import StoreIdentityError
from exmado_tui.files import disk_usage
from exmado_tui.job.status import FINAL, JobStatus, RowStatus
from exmado_tui.services.queue import JobQueue, make_broker, redis_client
from exmado_tui.services.supervision import use_metrics_dir
from exmado_tui.services.worker_facts import JobFacts, QueueFacts, read_job_facts, read_queue_facts
from exmado_tui.store.db import database
from exmado_tui.store.identity import open_store
from exmado_tui.store.queries import status_counts

if TYPE_CHECKING:  # prometheus-client is imported once its folder is set (use_metrics_dir)
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

    from workers.pipeline.files import FileRecord

log = logging.getLogger("exmado.workers")

MESSAGE = ("queue_name", "actor_name")
# Milliseconds, as Dramatiq's: up to Dramatiq's 15 minutes, then jobs of hours.
DURATION_BUCKETS_MS = (
    *(5, 10, 25, 50, 75, 100, 250, 500, 750, 1_000, 2_500, 5_000, 7_500, 10_000, 30_000),
    *(60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000),
    float("inf"),
)


class Counts:
    """The counters one worker process adds to (in the multiprocess folder once it is set)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        def counter(name: str, text: str, labels: Iterable[str] = ()) -> Counter:
            return Counter(name, text, list(labels), registry=registry)

        self.messages = counter("dramatiq_messages", "Messages processed.", MESSAGE)
        self.errors = counter("dramatiq_message_errors", "Messages that raised.", MESSAGE)
        self.retries = counter("dramatiq_message_retries", "Messages sent again.", MESSAGE)
        self.rejects = counter("dramatiq_message_rejects", "Messages dead-lettered.", MESSAGE)
        self.in_progress = Gauge(
            "dramatiq_messages_inprogress", "Messages being processed.", MESSAGE,
            registry=registry, multiprocess_mode="livesum",
        )  # fmt: skip
        self.delayed = Gauge(
            "dramatiq_delayed_messages_inprogress", "Delayed messages held in memory.", MESSAGE,
            registry=registry, multiprocess_mode="livesum",
        )  # fmt: skip
        self.durations = Histogram(
            "dramatiq_message_duration_milliseconds", "Time spent processing messages.",
            MESSAGE, buckets=DURATION_BUCKETS_MS, registry=registry,
        )  # fmt: skip
        self.rows = counter("exmado_rows", "Workbook rows finished, by outcome.", ["status"])
        self.documents = counter("exmado_documents_downloaded", "Files written and recorded.")
        self.bytes = counter("exmado_downloaded_bytes", "Bytes of the files recorded.")
        self.answers = counter(
            "exmado_docuware_requests", "DocuWare answers, by HTTP code.", ["kind", "code"]
        )
        self.sign_ins = counter("exmado_docuware_sign_ins", "Sign-ins DocuWare accepted.")
        self.finished = counter("exmado_jobs_finished", "Jobs this host ended.", ["status"])
        # Every outcome from zero: a series born at 1 would show no increase to an alert.
        for status in RowStatus:
            if status is not RowStatus.PENDING:
                self.rows.labels(status.value)
        for job_status in FINAL:
            self.finished.labels(job_status.value)

    def answered(self, kind: Kind, status: int) -> None:
        self.answers.labels(kind.value, str(status)).inc()
        if kind is Kind.LOGON and 200 <= status < 300:
            self.sign_ins.inc()


_counts: Counts | None = None  # this process's, once the middleware booted it


def rows_written(rows: dict[RowStatus, int], files: Iterable[FileRecord]) -> None:
    """Rows the store took a result for, by status, and the files recorded with them."""
    if _counts is None:
        return
    for status, count in rows.items():
        if status is not RowStatus.PENDING:  # handed back for a later turn: not finished
            _counts.rows.labels(status.value).inc(count)
    for record in files:
        _counts.documents.inc()
        _counts.bytes.inc(record.size)


def job_finished(status: JobStatus) -> None:
    if _counts is not None and status in FINAL:
        _counts.finished.labels(status.value).inc()


class Metrics(Middleware):
    """Counts in every worker process; its fork serves the figures at `[metrics] listen`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started: dict[str, float] = {}  # message id → when it began
        self.delayed: set[str] = set()

    @property
    def forks(self) -> list[Any]:
        return [serve]

    def after_process_boot(self, broker: Broker) -> None:
        global _counts
        use_metrics_dir(self.settings)
        from prometheus_client import CollectorRegistry

        _counts = Counts(CollectorRegistry())
        install_tally(_counts)

    def after_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # its live gauges leave the sums

    @staticmethod
    def _labels(message: MessageProxy) -> tuple[str, str]:
        return message.queue_name, message.actor_name

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        _on(_counts).rejects.labels(*self._labels(message)).inc()

    def after_enqueue(self, broker: Broker, message: Any, delay: int | None) -> None:
        if "retries" in message.options and _counts is not None:  # a retry is sent by a worker
            _counts.retries.labels(message.queue_name, message.actor_name).inc()

    def before_delay_message(self, broker: Broker, message: MessageProxy) -> None:
        self.delayed.add(message.message_id)
        _on(_counts).delayed.labels(*self._labels(message)).inc()

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        counts = _on(_counts)
        if message.message_id in self.delayed:
            self.delayed.discard(message.message_id)
            counts.delayed.labels(*self._labels(message)).dec()
        counts.in_progress.labels(*self._labels(message)).inc()
        self.started[message.message_id] = time.monotonic()

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: Any = None, exception: Any = None
    ) -> None:
        counts, labels = _on(_counts), self._labels(message)
        started = self.started.pop(message.message_id, time.monotonic())
        counts.durations.labels(*labels).observe((time.monotonic() - started) * 1000)
        counts.in_progress.labels(*labels).dec()
        counts.messages.labels(*labels).inc()
        if exception is not None:
            counts.errors.labels(*labels).inc()

    after_skip_message = after_process_message


def _on(counts: Counts | None) -> Counts:
    if counts is None:
        raise RuntimeError("the metrics middleware has not booted in this process")
    return counts


class WithHost:
    """Every sample of `collectors` with a `host` label: which machine's workers said it."""

    def __init__(self, host: str, *collectors: Collector) -> None:
        self.host = host
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            for family in collector.collect():
                family.samples = [
                    sample._replace(labels={**sample.labels, "host": self.host})
                    for sample in family.samples
                ]
                yield family


def exposition(settings: Settings) -> CollectorRegistry:
    """What `/metrics` answers: every worker process's counters, and the facts at scrape time."""
    folder = use_metrics_dir(settings)
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    counters = MultiProcessCollector(None, str(folder))
    registry.register(WithHost(settings.host, counters, FactsCollector(settings)))
    return registry


def serve() -> int:
    """Dramatiq's fork process: serve `/metrics` at `[metrics] listen` until stopped."""
    settings = load_settings()
    registry = exposition(settings)  # sets the folder before prometheus-client loads
    from prometheus_client import start_http_server

    host, port = settings.metrics.address
    try:
        _, thread = start_http_server(port, host, registry)
    except OSError as exc:
        log.error(
            "Cannot serve metrics at [metrics] listen = %s: %s.",
            settings.metrics.listen,
            exc.strerror or exc,
        )
        return 1
    log.info("Prometheus metrics at %s", settings.metrics.url)
    thread.join()
    return 0


# --- the facts, read at scrape time ----------------------------------------------------

REDIS_TIMEOUT_S = 3.0


def gauge(name: str, text: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    from prometheus_client.core import GaugeMetricFamily

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
