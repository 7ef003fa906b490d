"""config/prometheus/alerts.yml: valid for Prometheus, firing when it should (promtool, when
installed), and naming only metrics the workers export."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from tests.environment import REPO
from workers.metrics import Counts, FactsCollector, WithHost

RULES = REPO / "config" / "prometheus" / "alerts.yml"
RULE_TESTS = REPO / "tests" / "integration" / "alerts_test.yml"
PROMETHEUS_OWN = {"up"}  # what Prometheus records of every scrape itself
METRIC = re.compile(r"\b((?:exmado|dramatiq)[a-z0-9_:]*)\b")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (`apt-get install -y prometheus` provides it)")
    return found


def test_promtool_accepts_the_rules_and_their_tests_pass():
    checked = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout
    tested = subprocess.run(
        [promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True, timeout=60
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def rule_expressions() -> tuple[list[str], set[str]]:
    """Each rule's expression, and the names the recording rules make."""
    text = RULES.read_text()
    exprs = re.findall(r"^\s+expr: (.+)$", text, re.MULTILINE)
    recorded = set(re.findall(r"^\s+- record: (\S+)$", text, re.MULTILINE))
    rules = len(re.findall(r"^\s+- (?:alert|record): ", text, re.MULTILINE))
    assert len(exprs) == rules == 7  # one single-line expression a rule
    return exprs, recorded


def exported_names(families: list[Metric]) -> set[str]:
    """The series names a scrape can carry: a counter with no sample yet still says its own."""
    names = set()
    for family in families:
        names |= {sample.name for sample in family.samples}
        suffix = "_total" if family.type == "counter" else ""
        names.add(family.name + suffix)
    return names


def test_every_metric_the_rules_name_is_exported(store, redis_url):
    registry = CollectorRegistry()
    Counts(registry)
    families = list(WithHost("h", registry, FactsCollector(store)).collect())
    exported = exported_names(families)
    exprs, recorded = rule_expressions()
    bare = [re.sub(r'"[^"]*"', "", expr) for expr in exprs]  # label values are no names
    named = {name for expr in bare for name in METRIC.findall(expr)}
    assert {"exmado_workers_alive", "exmado_output_free_bytes"} <= named
    assert named - recorded <= exported, sorted(named - recorded - exported)
    assert {s.labels["host"] for f in families for s in f.samples} == {"h"}


def test_the_check_sees_a_name_nobody_exports(store, redis_url):
    registry = CollectorRegistry()
    Counts(registry)
    exported = exported_names(list(WithHost("h", registry, FactsCollector(store)).collect()))
    assert "exmado_rows_total" in exported and "exmado_job_rows_done" in exported
    assert "exmado_rows_done_total" not in exported
