"""The alert rules (deploy/prometheus/rules) fire in their `promtool test rules` cases, read only
metrics the services emit, and every alert the platform promises has a case that fires it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.metrics import prometheus_series
from tests.support.promql import metric_names

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy/prometheus"
RULES = PROMETHEUS / "rules/securact.yml"
RULE_TESTS = PROMETHEUS / "tests/securact.test.yml"
# What SREs are promised an alert for, by rule name.
PROMISED = {
    "OutboxBacklogStale",  # outbox backlog age
    "DeadLetterQueueNotEmpty",
    "JournalCheckpointStale",
    "JournalGapDetected",
    "NotificationFailures",
    "ErasureOverdue",
    "SmtpCertificateExpiresSoon",  # certificate expiry of SMTP TLS
    "SmtpCertificateExpired",
}


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        subprocess.run(["bash", str(ROOT / "scripts/ensure-promtool.sh")], check=False)
        found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool cannot be installed here (scripts/ensure-promtool.sh says why)")
    return found


def test_every_promised_alert_exists() -> None:
    assert {rule["alert"] for rule in _rules()} == PROMISED


def test_rules_read_only_metrics_the_services_emit() -> None:
    emitted = prometheus_series()
    for rule in _rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= emitted, (rule["alert"], names - emitted)


def test_every_alert_has_a_case_where_it_fires_and_one_where_it_does_not() -> None:
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in cases:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert firing == PROMISED
    assert quiet == PROMISED


def test_rules_are_valid_and_fire_in_their_promtool_tests() -> None:
    promtool = _promtool()
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=RULE_TESTS.parent,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_promtool_notices_a_rule_that_does_not_fire(tmp_path: Path) -> None:
    """The promtool cases can fail: a threshold raised past the test's values breaks them."""
    promtool = _promtool()
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    broken = RULES.read_text().replace(
        "max by (job) (securact_erasures_overdue) > 0",
        "max by (job) (securact_erasures_overdue) > 5",
    )
    assert broken != RULES.read_text()
    (tmp_path / "rules/securact.yml").write_text(broken)
    (tmp_path / "tests/securact.test.yml").write_text(RULE_TESTS.read_text())
    tested = subprocess.run(
        [promtool, "test", "rules", "securact.test.yml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path / "tests",
    )
    assert tested.returncode != 0
    assert "ErasureOverdue" in tested.stdout + tested.stderr


def test_prometheus_receives_otlp_and_loads_the_rules() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    prometheus = compose["services"]["prometheus"]
    assert "--web.enable-otlp-receiver" in prometheus["command"]
    assert "--enable-feature=exemplar-storage" in prometheus["command"]
    assert "./deploy/prometheus/rules:/etc/prometheus/rules:ro" in prometheus["volumes"]
    collector = yaml.safe_load((ROOT / "deploy/otel-collector/config.yaml").read_text())
    exporter = collector["exporters"]["otlphttp/prometheus"]
    assert exporter["endpoint"] == "http://prometheus:9090/api/v1/otlp"
    assert collector["service"]["pipelines"]["metrics"]["exporters"] == ["otlphttp/prometheus"]
