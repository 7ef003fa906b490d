"""A worker process whose parent dies stops by itself, handing its job back.

Dramatiq's worker processes are children of the `exmado worker` process supervisord runs.
Killed with SIGKILL (supervisord's stop timeout, the OOM killer, an operator), that parent can
no longer forward TERM, and its children lived on outside any supervision, running jobs beside
the workers that replaced them. Each worker process watches its parent's pid from a daemon
thread; when the process is re-parented (to init or a subreaper) it sends itself SIGTERM —
Dramatiq's ordinary stop — so the job in flight is handed back at its next row and queued again.

Why a thread rather than prctl(PR_SET_PDEATHSIG): that signal fires when the *thread* that
forked the child ends rather than the process, it is Linux-only, and it leaves no moment to
move logging off the dead parent's pipe first. The pipe's read end lives on in sibling
processes, so an orphan logging into it blocks once it fills — and then ignores TERM, as the
orphans seen in the field did. Logging moves to the process's own stderr (supervisord's log).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import TextIO

from dramatiq import Broker
from dramatiq.middleware import Middleware

log = logging.getLogger("exmado.workers")
CHECK_S = 0.5


class StopWithParent(Middleware):
    """Start the parent watch in every worker process Dramatiq boots."""

    def __init__(self, check_s: float = CHECK_S) -> None:
        self.check_s = check_s

    def after_process_boot(self, broker: Broker) -> None:
        watch_parent(os.getppid(), self.check_s)


def watch_parent(parent: int, check_s: float) -> threading.Thread:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(check_s)
        stop_as_orphan(parent)

    thread = threading.Thread(target=watch, name="exmado-parent-watch", daemon=True)
    thread.start()
    return thread


def stop_as_orphan(parent: int) -> None:
    log_to_own_stderr()
    log.warning(
        "The main worker process (pid %d) is gone; worker process %d stops and hands its job back.",
        parent,
        os.getpid(),
    )
    os.kill(os.getpid(), signal.SIGTERM)


def log_to_own_stderr() -> None:
    """Point logging and sys.stdout/stderr at file descriptor 2, which Dramatiq had
    redirected into its pipe to the parent that no longer reads it."""
    stream: TextIO = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives on
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            # Not setStream: it flushes the old stream first, which may block on the pipe.
            handler.stream = stream
    sys.stdout = sys.stderr = stream
