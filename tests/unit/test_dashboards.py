"""The Grafana dashboards query Prometheus only, on metric names the code emits (derived from
shared/metrics.py's instrument definitions), cover every instrument, and are what
deploy/grafana/make_dashboards.py writes."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.metrics import INSTRUMENTS, InstrumentSpec, prometheus_name, prometheus_series
from tests.support.promql import metric_names

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
SERVICES = ("identity", "consent", "delivery", "notify", "audit", "retention")


def _boards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def _panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _exprs(board: dict[str, Any]) -> Iterator[str]:
    for panel in _panels(board):
        for target in panel.get("targets", []):
            yield target["expr"]


def test_there_is_a_dashboard_per_service_an_overview_and_the_act_journey() -> None:
    names = set(_boards())
    assert {f"securact-{s}.json" for s in SERVICES} <= names
    assert {"securact-services.json", "securact-act-journey.json"} <= names


def test_every_panel_queries_prometheus_none_relies_on_tempo_previews() -> None:
    for name, board in _boards().items():
        for panel in _panels(board):
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["type"] == "prometheus", (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "prometheus"
                assert "queryType" not in target  # no TraceQL


def test_dashboards_reference_only_metrics_the_code_emits() -> None:
    emitted = prometheus_series()
    for name, board in _boards().items():
        for expr in _exprs(board):
            names = metric_names(expr)
            assert names, (name, expr)
            assert names <= emitted, (name, names - emitted)


def test_every_instrument_is_on_some_dashboard() -> None:
    shown = {n for board in _boards().values() for e in _exprs(board) for n in metric_names(e)}

    def series_of(spec: InstrumentSpec) -> set[str]:
        base = prometheus_name(spec)
        if spec.kind == "histogram":
            return {f"{base}_bucket", f"{base}_count", f"{base}_sum"}
        return {base}

    assert [s.name for s in INSTRUMENTS if not series_of(s) & shown] == []


@pytest.mark.parametrize(
    ("spec_name", "expected"),
    [
        ("http.server.request.duration", "http_server_request_duration_seconds"),
        ("securact.acts.served", "securact_acts_served_total"),
        ("securact.outbox.oldest_age", "securact_outbox_oldest_age_seconds"),
        ("securact.outbox.backlog", "securact_outbox_backlog"),
        ("securact.notifications.latency", "securact_notifications_latency_seconds"),
    ],
)
def test_prometheus_names_follow_its_otlp_translation(spec_name: str, expected: str) -> None:
    spec = next(s for s in INSTRUMENTS if s.name == spec_name)
    assert prometheus_name(spec) == expected


def test_the_metric_name_check_catches_a_misspelt_name() -> None:
    emitted = prometheus_series()
    assert not metric_names("sum(rate(securact_acts_servd_total[5m]))") <= emitted
    assert not metric_names("rate(http_server_duration_count[5m])") <= emitted


def test_act_journey_follows_deposit_notice_download_quality_with_exemplars() -> None:
    board = _boards()["securact-act-journey.json"]
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert [r.split(" ", 2)[1] for r in rows] == ["Deposit", "Notice", "Download", "Quality"]
    latency = [
        t for p in _panels(board) for t in p.get("targets", []) if "histogram_quantile" in t["expr"]
    ]
    assert latency
    assert all(t["exemplar"] for t in latency)


def test_exemplars_link_to_tempo_traces() -> None:
    provisioning = ROOT / "deploy/grafana/provisioning/datasources/prometheus.yaml"
    (source,) = yaml.safe_load(provisioning.read_text())["datasources"]
    assert source["uid"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    (link,) = source["jsonData"]["exemplarTraceIdDestinations"]
    assert link == {"name": "trace_id", "datasourceUid": "tempo"}


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_dashboards", ROOT / "deploy/grafana/make_dashboards.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dashboards() == _boards()
