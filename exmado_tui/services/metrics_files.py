"""Where the worker processes of one `exmado worker` keep their Prometheus counters.

prometheus-client's multiprocess mode: each process writes its figures to files in one folder
named by `PROMETHEUS_MULTIPROC_DIR`, which the exposition reads and adds up. The folder is
`run/metrics/` in the data folder; `exmado worker` empties it as it starts (counters of an
earlier run would otherwise be added to this one's) and hands it to Dramatiq's processes
through the environment, before any of them imports prometheus-client.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from exmado_tui.config.settings import Settings
from exmado_tui.services.supervision import run_dir

ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"


def metrics_dir(settings: Settings) -> Path:
    return run_dir(settings) / "metrics"


def fresh_metrics_dir(settings: Settings) -> Path:
    """The folder, emptied: a new run's counters start at zero."""
    folder = metrics_dir(settings)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    return folder


def use_metrics_dir(settings: Settings) -> Path:
    """Point prometheus-client at the folder (made if missing); before it is imported."""
    folder = Path(os.environ.get(ENVIRONMENT) or metrics_dir(settings))
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)
    os.environ[ENVIRONMENT] = str(folder)
    return folder
