"""A daemon thread that repeats one action until its stop event is set."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("exmado.workers")


def repeat(
    action: Callable[[], None], interval_s: float, stop: threading.Event, name: str
) -> threading.Thread:
    """Run `action` now and every `interval_s` after; a failure is logged, the next pass runs."""

    def loop() -> None:
        while True:
            try:
                action()
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                log.exception("%s failed; trying again in %.1f s", name, interval_s)
            if stop.wait(interval_s):
                return

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread
