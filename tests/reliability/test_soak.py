"""The fault suite at full length, only with `pytest -m soak`: 300-row jobs, kill -9 at 30
points, DocuWare down 20 s, the store locked 10 s, 20-second tokens."""

from __future__ import annotations

import pytest

from tests.reliability.faults import (
    SOAK,
    docuware_down,
    docuware_misbehaving,
    kill_9_series,
    store_locked,
)
from tests.reliability.harness import Exmado
from tests.reliability.tally import Tally

pytestmark = [pytest.mark.soak, pytest.mark.timeout(900)]  # 300-row jobs take minutes


def test_soak_kill_9_at_thirty_points(plant: Exmado, tally: Tally) -> None:
    kill_9_series(plant, tally, SOAK.rows, mid_job=26)


def test_soak_docuware_misbehaving(plant: Exmado, tally: Tally) -> None:
    docuware_misbehaving(plant, tally, SOAK)


def test_soak_docuware_down_20_s(plant: Exmado, tally: Tally) -> None:
    docuware_down(plant, tally, SOAK)


def test_soak_store_locked_10_s(plant: Exmado, tally: Tally) -> None:
    store_locked(plant, tally, SOAK)
