"""`exmado worker`, `exmado workers` and `exmado queue purge|recover`: running the workers.

`exmado worker` replaces itself with `dramatiq workers.broker:setup workers.actors` (so supervisord
signals reach Dramatiq directly), with the same configuration file and environment, and with a
queue prefetch equal to the threads: a busy worker holds no job message it cannot start.
Workers announce themselves in Redis under `queue.WORKER_KEY_PREFIX` with a short TTL;
`JobQueue.alive_workers` reads them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from exmado_tui.commands.context import Context, confirmed, print_json
from exmado_tui.config.settings import zone_abbreviation
from exmado_tui.formatting import duration, local_time

if TYPE_CHECKING:  # Redis and the store load when a command runs, not for `--help`
    from exmado_tui.services.worker_facts import WorkerFacts

REPO_ROOT = Path(__file__).resolve().parents[2]
CLEAR_SCREEN = "\x1b[H\x1b[2J"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = subparsers.add_parser("worker", help="run Dramatiq workers (supervisord runs this)")
    worker.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    worker.add_argument(
        "--threads", type=int, default=None, help="jobs per process (default: max_concurrent_jobs)"
    )
    worker.set_defaults(handler=worker_command)

    workers = subparsers.add_parser("workers", help="workers alive, queue depth, running jobs")
    workers.add_argument("--json", action="store_true", help="print JSON")
    workers.add_argument(
        "-w", "--watch", action="store_true", help="show it again every --interval seconds"
    )
    workers.add_argument(
        "--interval", type=float, default=2.0, metavar="S", help="with --watch (default 2)"
    )
    workers.set_defaults(handler=workers_command)

    queue = subparsers.add_parser("queue", help="operate the job queue in Redis")
    actions = queue.add_subparsers(dest="action", required=True, metavar="ACTION")
    purge = actions.add_parser("purge", help="drop every queued job message (jobs stay)")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(handler=purge_command)
    recover = actions.add_parser("recover", help="queue every unfinished job again from the store")
    recover.add_argument("--json", action="store_true", help="print JSON")
    recover.set_defaults(handler=recover_command)


def dramatiq_command(processes: int, threads: int) -> list[str]:
    from exmado_tui.services.queue import JOBS_QUEUE

    return [
        sys.executable, "-m", "dramatiq", "workers.broker:setup", "workers.actors",
        "--processes", str(processes), "--threads", str(threads),
        "--queues", JOBS_QUEUE, "--path", str(REPO_ROOT),
    ]  # fmt: skip


def worker_environment(config: str | None, threads: int) -> dict[str, str]:
    env = dict(os.environ)
    if config:
        env["EXMADO_CONFIG"] = str(Path(config).expanduser().absolute())
    env["dramatiq_queue_prefetch"] = str(threads)
    return env


def worker_command(args: argparse.Namespace, ctx: Context) -> int:
    threads = args.threads or ctx.settings.jobs.max_concurrent_jobs
    command = dramatiq_command(max(args.processes, 1), max(threads, 1))
    env = worker_environment(args.config, threads)
    if ctx.settings.metrics.listen:
        from exmado_tui.services.supervision import ENVIRONMENT, fresh_metrics_dir

        env[ENVIRONMENT] = str(fresh_metrics_dir(ctx.settings))
    sys.stdout.flush()
    os.execve(sys.executable, command, env)
    return 0  # not reached


# -- the registry ---------------------------------------------------------------------------


def workers_command(args: argparse.Namespace, ctx: Context) -> int:
    if not args.watch:
        return show_workers(args, ctx)
    while True:  # until Ctrl+C; Redis out of reach is said and looked at again
        if sys.stdout.isatty():
            sys.stdout.write(CLEAR_SCREEN)
        if not args.json:
            now = datetime.now(ctx.settings.zone).strftime("%H:%M:%S %Z")
            print(f"Every {args.interval:g} s, last at {now} (Ctrl+C stops)\n")
        show_workers(args, ctx)
        sys.stdout.flush()
        time.sleep(max(args.interval, 0.1))


def show_workers(args: argparse.Namespace, ctx: Context) -> int:
    import redis

    from exmado_tui.services.worker_facts import read_worker_facts

    ctx.open_store()
    queue = ctx.service.queue
    try:
        facts = read_worker_facts(queue)
    except redis.RedisError as exc:
        print(f"exmado: cannot reach Redis at {queue.url} ({exc}).", file=sys.stderr)
        return 1
    if args.json:
        data = facts.as_json()
        # --watch: one document a line, so a reader can take them one by one
        print(json.dumps(data, default=str)) if args.watch else print_json(data)
        return 0
    _print_workers(facts, ctx)
    depth = facts.queue.depth
    waited = facts.store.oldest_waiting_s
    oldest = f"; the oldest started job has waited {duration(waited)}" if waited else ""
    print(
        f"\nQueue: {depth.ready} ready, {depth.delayed} delayed, {depth.dead} dead letters{oldest}"
    )
    for budget in facts.queue.budgets:
        print(f"DocuWare budget ({budget.account}): {budget.describe()}")
    zone = zone_abbreviation(ctx.settings.zone)
    print(f"\n{'JOB':8}  {'STATUS':10} {'ROWS':>11}  {'WORKER':24} HEARTBEAT {zone}")
    for job in facts.store.jobs:
        rows = f"{job.done_rows}/{job.total_rows}"
        beat = local_time(job.heartbeat_at, ctx.settings.zone, "%H:%M:%S")
        worker = job.worker[:24] or "-"
        print(f"{job.short_id:8}  {job.status:10} {rows:>11}  {worker:24} {beat}")
        if not job.worker and job.wait_reason:  # handed back: say what it waits for
            print(f"{'':10}no worker: {job.wait_reason}")
    if not facts.store.jobs:
        print("(no running jobs)")
    return 0


def _print_workers(facts: WorkerFacts, ctx: Context) -> None:
    from exmado_tui.services.worker_facts import age_s

    print(f"{'HOST':20} {'PID':>7} {'UP':>8} {'THREADS':>7} {'SEEN':>6}  JOBS")
    for worker in facts.queue.workers:
        since = worker.get("since", "")
        up = age_s(_parse(since), facts.queue.read_at) if since else None
        seen = duration(facts.queue.heartbeat_age_s(worker))
        jobs = ", ".join(j[:8] for j in worker.get("jobs", [])) or "-"
        print(
            f"{worker.get('host', '')[:20]:20} {worker.get('pid', ''):>7} {duration(up):>8} "
            f"{worker.get('threads', ''):>7} {seen:>6}  {jobs}"
        )
    if not facts.queue.workers:
        print("(no worker alive: start one with `exmado worker` or `exmado up`)")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.rstrip("Z"))


# -- the queue ------------------------------------------------------------------------------


def purge_command(args: argparse.Namespace, ctx: Context) -> int:
    from exmado_tui.services.queue import JobQueue

    queue = JobQueue.from_settings(ctx.settings.broker)
    depth = queue.depth()
    if queue.is_empty(depth):  # nothing a yes would change: no question, and not a refusal
        print(f"Nothing to purge: the job queue at {queue.url} is empty.")
        return 0
    question = (
        f"Drop {depth.ready} ready and {depth.delayed} delayed job messages and "
        f"{depth.dead} dead letters from {queue.url}? [y/N] "
    )
    if not args.yes and not confirmed(question):
        print("Nothing purged (pass --yes to purge without being asked).")
        return 1
    queue.purge()
    print("Queue purged; jobs stay in the store (`exmado queue recover` queues them again).")
    return 0


def recover_command(args: argparse.Namespace, ctx: Context) -> int:
    ids = ctx.service.requeue_unfinished()
    if args.json:
        print_json({"requeued": ids})
    else:
        print(f"Queued {len(ids)} unfinished job(s) again.")
    return 0
