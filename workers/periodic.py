"""A daemon thread that repeats one action until its stop event is set."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("exmado.workers")


Explain = Callable[[Exception], str | None]


def repeat(
    action: Callable[[], None],
    interval_s: float,
    stop: threading.Event,
    name: str,
    explain: Explain = lambda exc: None,
) -> threading.Thread:
    """Run `action` now and every `interval_s` after; a failure is logged, the next pass runs.

    A failure `explain` puts in a sentence is logged as that sentence; any other with its
    traceback. (Repeats are held back by the worker's quiet_logs filter.)
    """

    def loop() -> None:
        while True:
            try:
                action()
            except Exception as exc:
                _log_failure(name, interval_s, explain(exc))
            if stop.wait(interval_s):
                return

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread


def _log_failure(name: str, interval_s: float, sentence: str | None) -> None:
    if sentence:
        log.error(sentence)  # as the worker said it at boot: the same line, held back
    else:
        log.exception("%s failed; trying again in %.1f s", name, interval_s)
