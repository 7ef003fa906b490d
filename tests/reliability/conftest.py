"""The reliability suite: the real-process fixtures, the session's tally and its one line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.harness import Exmado, docuware, exmado, sandbox
from tests.reliability.tally import TALLY, Tally

__all__ = ["docuware", "exmado", "sandbox"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is `reliability` (or `soak`), before `-m` chooses."""
    here = __file__.rsplit("/", 1)[0]
    for item in items:
        if str(item.fspath).startswith(here) and not item.get_closest_marker("soak"):
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def tally() -> Tally:
    return TALLY


@pytest.fixture
def plant(exmado: Exmado, tally: Tally) -> Iterator[Exmado]:
    """`exmado`, whose workers' peak memory counts in the suite's line."""
    yield exmado
    exmado.stop_workers()
    tally.worker_rss(exmado.peak_rss)
