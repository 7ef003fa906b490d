"""`exmado demo`: the whole of Éxmado on one machine, in under a minute, touching nothing else.

It starts a private Redis, the DocuWare sandbox and one worker, exports the demo workbook
(`config/demo/invoices.xlsx`) with the `invoices` profile, shows the progress, and leaves the
store, the files and the report under `data_dir/demo` to look at afterwards.

`exmado demo --dashboard` (the command the demo ends with) brings the same private stack back
for as long as the dashboard is open: the dashboard then shows the demo's jobs and talks to the
demo's Redis, sandbox and worker — never to whatever answers on the default Redis port — and
nothing keeps running once it closes (so there is no `--stop` to forget).
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from exmado_tui import resources
from exmado_tui.commands.context import Context
from exmado_tui.commands.dashboard import open_dashboard
from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import Settings
from exmado_tui.formatting import counted
from exmado_tui.job.status import JobStatus
from exmado_tui.services.localredis import RedisServer, ensure_password

if TYPE_CHECKING:  # the store loads peewee: `exmado --help` does not need it
    from exmado_tui.store.queries import JobDetail

DEMO_WORKBOOK = resources.path("config", "demo", "invoices.xlsx")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser("demo", help="run a whole export against the bundled sandbox")
    demo.add_argument("--workbook", type=Path, default=DEMO_WORKBOOK, help="workbook to export")
    demo.add_argument("--profile", default="invoices", help="profile (default: invoices)")
    demo.add_argument("--latency-ms", type=int, default=20, help="sandbox latency per request")
    demo.add_argument("--timeout", type=float, default=300, help="give up after S seconds")
    demo.add_argument(
        "--dashboard",
        action="store_true",
        help="open the dashboard on the demo's jobs, with its Redis, sandbox and worker",
    )
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace, ctx: Context) -> int:
    home = ctx.settings.data_dir / "demo"
    # A closed terminal (SIGHUP) or a kill (SIGTERM) ends the demo like Ctrl+C does: through
    # the ExitStack, which stops the private Redis and the worker instead of leaving them.
    for signum in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, _exit_on_signal)
    with ExitStack() as stack:
        redis_url = stack.enter_context(_redis(home))
        sandbox_url = stack.enter_context(_sandbox(args.latency_ms))
        env = _environment(home, redis_url, sandbox_url)
        settings = load_settings(args.config, environ=env)
        stack.enter_context(_worker(env, home))
        if args.dashboard:
            return open_dashboard(args, Context(settings))
        job = _run_job(settings, args)
    _print_outcome(job, home)
    if args.workbook == DEMO_WORKBOOK:
        print(
            "(The demo workbook holds, on purpose, an invoice the sandbox does not have and two "
            "rows repeating earlier ones: hence 'with errors'. The report says what became of "
            "each row.)"
        )
    print(f"\nLook at it in the dashboard:  {this_exmado(args)} demo --dashboard")
    return 0 if job.status in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS) else 1


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def this_exmado(args: argparse.Namespace) -> str:
    """A shell command that runs this same exmado, with the same data folder and configuration
    file, from the current folder — whether `exmado` is on PATH or not."""
    script = Path(sys.argv[0])
    if script.name == "exmado" and script.is_file():
        shown = os.path.relpath(script) if script.resolve().is_relative_to(Path.cwd()) else script
        program = shlex.quote(str(shown) if "/" in str(shown) else f"./{shown}")
    else:
        program = f"{shlex.quote(sys.executable)} -m exmado_tui.cli"
    if args.config:
        program += f" --config {shlex.quote(str(Path(args.config).expanduser().absolute()))}"
    if data_dir := os.environ.get("EXMADO_DATA_DIR"):
        program = f"EXMADO_DATA_DIR={shlex.quote(str(Path(data_dir).absolute()))} {program}"
    return program


@contextmanager
def _redis(home: Path) -> Iterator[str]:
    # Protected as the bundled Redis is: the demo's processes read its password from home.
    server = RedisServer(home / "redis", password=ensure_password(home)).start()
    print(f"Redis      {server.url} (private, for this demo)")
    try:
        yield server.url
    finally:
        server.stop()


@contextmanager
def _sandbox(latency_ms: int) -> Iterator[str]:
    from exmado_tui.sandbox import FaultSettings, SandboxConfig, SandboxServer

    server = SandboxServer(
        SandboxConfig(port=0, documents=5000, faults=FaultSettings(latency_ms=latency_ms))
    )
    url = server.start()
    print(f"DocuWare   {url} (the bundled sandbox, {latency_ms} ms per request)")
    try:
        yield url
    finally:
        server.stop()


def _environment(home: Path, redis_url: str, sandbox_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "EXMADO_DATA_DIR": str(home),
        "EXMADO_OUTPUT_ROOT": str(home / "output"),
        "EXMADO_DROP_FOLDER": str(home / "drop"),
        "EXMADO_DB_URL": "",
        "REDIS_URL": redis_url,
        "DOCUWARE_URL": sandbox_url,
        "DOCUWARE_USERNAME": "demo",
        "DOCUWARE_PASSWORD": "demo",  # the sandbox's published demo account
        "DOCUWARE_AUTH": "auto",
    }


@contextmanager
def _worker(env: dict[str, str], home: Path) -> Iterator[None]:
    log = (home / "worker.log").open("w")
    command = [sys.executable, "-m", "exmado_tui.cli", "worker", "--threads", "2"]
    worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    print(f"Worker     pid {worker.pid} (log: {home / 'worker.log'})")
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def _run_job(settings: Settings, args: argparse.Namespace) -> JobDetail:
    from exmado_tui.job.new_job import JobRequest
    from exmado_tui.job.service import JobService
    from exmado_tui.store.identity import open_store
    from exmado_tui.store.queries import get_job

    open_store(settings)
    service = JobService(settings)
    job = service.create(
        JobRequest(args.workbook, profile=args.profile, name="Demo export", start=True)
    )
    print(f"Job        {job.short_id}: {job.workbook_name} with profile {args.profile}\n")
    deadline, shown = time.monotonic() + args.timeout, ""
    while not job.status.is_final and time.monotonic() < deadline:
        time.sleep(0.5)
        job = get_job(job.id)
        line = (
            f"  {job.status.value:22} {job.done_rows}/{job.total_rows} rows, "
            f"{job.found_rows} found, {counted(job.files_count, 'file')}"
        )
        if line != shown:
            print(line, flush=True)
            shown = line
    return job


def _print_outcome(job: JobDetail, home: Path) -> None:
    print(
        f"\n{job.status.value}: {job.found_rows} found, {job.not_found_rows} not found, "
        f"{job.ambiguous_rows} ambiguous, {job.failed_rows} failed, "
        f"{job.skipped_rows} skipped; {counted(job.files_count, 'file')}."
    )
    if job.last_error:
        print(f"Last error: {job.last_error}")
    output = Path(job.output_dir)
    print(f"Files:    {output}")
    for line in output_listing(output):
        print(line)


WRITTEN = {"exmado-report.xlsx": "Report:  ", "exmado-manifest.json": "Manifest:"}


def output_listing(output: Path, shown: int = 8) -> list[str]:
    """The exported files, the first `shown` of them and how many more (enough to see the
    folder tree), then the report and the manifest the job wrote beside them."""
    files = sorted(
        path.relative_to(output)
        for path in output.rglob("*")
        if path.is_file() and not (path.parent == output and path.name in WRITTEN)
    )
    lines = [f"  {path}" for path in files[:shown]]
    if len(files) > shown:
        lines.append(f"  … and {len(files) - shown} more")
    return lines + [
        f"{label} {output / name}" for name, label in WRITTEN.items() if (output / name).is_file()
    ]
