# ruff: noqa: E501 - PromQL queries read best on one line each
"""Writes the Grafana dashboards of deploy/grafana/dashboards/ (committed; Grafana provisions
them from files): `python deploy/grafana/make_dashboards.py`.

Every panel queries Prometheus, on the metric names Prometheus gives the services' OTLP metrics
(shared/metrics.py; tests/unit/test_dashboards.py checks each name is one the code emits).
Latency panels show exemplars: a point opens its trace in Tempo.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "dashboards"
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
SERVICES = ("identity", "consent", "delivery", "notify", "audit", "retention")
DURATION = "http_server_request_duration_seconds"
WIDTH = 24


class Layout:
    """Panels placed left to right, `per_row` to a row, each 8 units high."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self._x = 0
        self._y = 0

    def row(self, title: str) -> None:
        if self._x:
            self._x, self._y = 0, self._y + 8
        self.panels.append(
            {
                "id": len(self.panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": WIDTH, "x": 0, "y": self._y},
                "panels": [],
            }
        )
        self._y += 1

    def add(self, panel: dict[str, Any], width: int = 8) -> None:
        if self._x + width > WIDTH:
            self._x, self._y = 0, self._y + 8
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = {"h": 8, "w": width, "x": self._x, "y": self._y}
        self.panels.append(panel)
        self._x += width


def target(expr: str, legend: str, *, exemplar: bool = False, ref: str = "A") -> dict[str, Any]:
    return {
        "refId": ref,
        "datasource": PROMETHEUS,
        "expr": expr,
        "legendFormat": legend,
        "exemplar": exemplar,
        "range": True,
    }


def series(
    title: str,
    targets: Sequence[dict[str, Any]],
    unit: str,
    description: str = "",
) -> dict[str, Any]:
    refs = "ABCDEFGH"
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": PROMETHEUS,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [{**t, "refId": refs[i]} for i, t in enumerate(targets)],
    }


def stat(title: str, expr: str, unit: str, description: str = "") -> dict[str, Any]:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": PROMETHEUS,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"},
        "targets": [target(expr, "")],
    }


def red(layout: Layout, job: str) -> None:
    """Rate, errors and duration per route of `job` (a PromQL label matcher value)."""
    where = f'job=~"{job}"'
    layout.row("Requests per route (RED)")
    layout.add(
        series(
            "Requests per second",
            [
                target(
                    f"sum by (job, http_route) (rate({DURATION}_count{{{where}}}[$__rate_interval]))",
                    "{{job}} {{http_route}}",
                )
            ],
            "reqps",
        )
    )
    layout.add(
        series(
            "Errors per second (5xx)",
            [
                target(
                    f"sum by (job, http_route) (rate({DURATION}_count{{{where}, "
                    f'http_response_status_code=~"5.."}}[$__rate_interval]))',
                    "{{job}} {{http_route}}",
                )
            ],
            "reqps",
        )
    )
    layout.add(
        series(
            "p95 duration (exemplars: traces)",
            [
                target(
                    f"histogram_quantile(0.95, sum by (job, http_route, le) "
                    f"(rate({DURATION}_bucket{{{where}}}[$__rate_interval])))",
                    "{{job}} {{http_route}}",
                    exemplar=True,
                )
            ],
            "s",
        )
    )


def platform(layout: Layout, job: str) -> None:
    """Outbox and consumers of `job`."""
    where = f'job=~"{job}"'
    layout.row("Outbox and consumers")
    layout.add(
        series(
            "Outbox backlog",
            [
                target(
                    f"max by (securact_service) (securact_outbox_backlog{{{where}}})",
                    "{{securact_service}}",
                )
            ],
            "short",
            "Events written and not yet published to RabbitMQ.",
        )
    )
    layout.add(
        series(
            "Oldest unpublished event",
            [
                target(
                    f"max by (securact_service) (securact_outbox_oldest_age_seconds{{{where}}})",
                    "{{securact_service}}",
                )
            ],
            "s",
        )
    )
    layout.add(
        series(
            "Consumer lag (messages waiting per queue)",
            [
                target(
                    f"max by (messaging_destination_name) (securact_messaging_queue_depth{{{where}}})",
                    "{{messaging_destination_name}}",
                )
            ],
            "short",
        )
    )
    layout.add(
        series(
            "Retries, dead letters and DLQ depth",
            [
                target(
                    f"sum by (messaging_destination_name) "
                    f"(increase(securact_messaging_retries_total{{{where}}}[$__rate_interval]))",
                    "retries {{messaging_destination_name}}",
                ),
                target(
                    f"sum by (messaging_destination_name, error_type) "
                    f"(increase(securact_messaging_dead_letters_total{{{where}}}[$__rate_interval]))",
                    "dead-lettered {{messaging_destination_name}} ({{error_type}})",
                ),
                target(
                    f"max by (messaging_destination_name) (securact_messaging_dlq_depth{{{where}}})",
                    "waiting in {{messaging_destination_name}}",
                ),
            ],
            "short",
        )
    )


def identity(layout: Layout) -> None:
    layout.row("Logins")
    layout.add(
        series(
            "Failed logins",
            [
                target(
                    'sum by (securact_login_party, securact_login_outcome) (increase(securact_logins_failed_total{job="identity"}[$__rate_interval]))',
                    "{{securact_login_party}} {{securact_login_outcome}}",
                )
            ],
            "short",
        ),
        12,
    )
    layout.add(
        series(
            "Throttled logins",
            [
                target(
                    'sum by (securact_login_party, securact_login_counter) (increase(securact_logins_throttled_total{job="identity"}[$__rate_interval]))',
                    "{{securact_login_party}} on {{securact_login_counter}}",
                )
            ],
            "short",
        ),
        12,
    )


def delivery(layout: Layout, title: str = "Acts") -> None:
    layout.row(title)
    layout.add(
        series(
            "Acts served and scheduled",
            [
                target("sum(increase(securact_acts_served_total[$__rate_interval]))", "served"),
                target(
                    "sum by (securact_act_status) (increase(securact_acts_scheduled_total[$__rate_interval]))",
                    "{{securact_act_status}}",
                ),
            ],
            "short",
        )
    )
    layout.add(
        series(
            "Acts refused, by reason",
            [
                target(
                    "sum by (securact_refusal_reason) (increase(securact_acts_refused_total[$__rate_interval]))",
                    "{{securact_refusal_reason}}",
                )
            ],
            "short",
        )
    )
    layout.add(
        series(
            "Quality of service determined",
            [
                target(
                    "sum by (securact_act_quality) (increase(securact_acts_finalised_total[$__rate_interval]))",
                    "{{securact_act_quality}}",
                )
            ],
            "short",
        )
    )


def notify(layout: Layout) -> None:
    layout.row("Notifications")
    layout.add(
        series(
            "Sent and failed, per channel",
            [
                target(
                    "sum by (securact_notification_channel) (increase(securact_notifications_sent_total[$__rate_interval]))",
                    "sent {{securact_notification_channel}}",
                ),
                target(
                    "sum by (securact_notification_channel, error_type) (increase(securact_notifications_failed_total[$__rate_interval]))",
                    "failed {{securact_notification_channel}} ({{error_type}})",
                ),
            ],
            "short",
        )
    )
    layout.add(
        series(
            "p95 from the event to acceptance (exemplars: traces)",
            [
                target(
                    "histogram_quantile(0.95, sum by (securact_notification_channel, le) "
                    "(rate(securact_notifications_latency_seconds_bucket[$__rate_interval])))",
                    "{{securact_notification_channel}}",
                    exemplar=True,
                )
            ],
            "s",
        )
    )
    layout.add(
        stat(
            "SMTP relay certificate: time left",
            "min(securact_smtp_certificate_expiry_seconds) - time()",
            "s",
            "Until the relay's TLS certificate expires (an alert fires 14 days before).",
        )
    )


def audit(layout: Layout) -> None:
    layout.row("Journal")
    layout.add(series("Journal size", [target("max(securact_journal_size)", "entries")], "short"))
    layout.add(
        series(
            "Age of the latest checkpoint",
            [target("max(securact_journal_checkpoint_age_seconds)", "age")],
            "s",
        )
    )
    layout.add(
        series(
            "Gaps detected, per producer",
            [
                target(
                    "sum by (securact_producer) (increase(securact_journal_gaps_total[$__rate_interval]))",
                    "{{securact_producer}}",
                )
            ],
            "short",
        )
    )


def retention(layout: Layout) -> None:
    layout.row("Erasures")
    layout.add(
        series(
            "Erasures due and overdue",
            [
                target("max(securact_erasures_due)", "due"),
                target("max(securact_erasures_overdue)", "overdue", ref="B"),
            ],
            "short",
        ),
        24,
    )


SPECIFIC = {
    "identity": identity,
    "delivery": delivery,
    "notify": notify,
    "audit": audit,
    "retention": retention,
}


def dashboard(uid: str, title: str, description: str, layout: Layout) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["securact"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": []},
        "panels": layout.panels,
    }


def overview() -> dict[str, Any]:
    layout = Layout()
    red(layout, "$service")
    platform(layout, "$service")
    board = dashboard(
        "securact-services",
        "SECURACT-NG — services",
        "Requests, errors and latency per route, outbox and consumers of the six services.",
        layout,
    )
    board["templating"]["list"] = [
        {
            "name": "service",
            "label": "service",
            "type": "custom",
            "query": ",".join(SERVICES),
            "includeAll": True,
            "allValue": ".*",
            "multi": False,
            "current": {"text": "All", "value": "$__all"},
            "options": [],
        }
    ]
    return board


def service(name: str) -> dict[str, Any]:
    layout = Layout()
    specific = SPECIFIC.get(name)
    if specific is not None:
        specific(layout)
    red(layout, name)
    platform(layout, name)
    return dashboard(
        f"securact-{name}", f"SECURACT-NG — {name}", f"The {name} service's metrics.", layout
    )


def act_journey() -> dict[str, Any]:
    """Deposit → notice → download → quality, each step's volume and latency."""
    layout = Layout()
    delivery(layout, "1. Deposit (office → delivery)")
    layout.add(
        series(
            "Deposit p95 (exemplars: traces)",
            [
                target(
                    f"histogram_quantile(0.95, sum by (le, http_response_status_code) (rate({DURATION}_bucket"
                    '{job="delivery", http_request_method="POST", http_route="/v1/acts"}[$__rate_interval])))',
                    "{{http_response_status_code}}",
                    exemplar=True,
                )
            ],
            "s",
        ),
        24,
    )
    layout.row("2. Notice (notify → the person)")
    layout.add(
        series(
            "Notices of served acts sent",
            [
                target(
                    "sum by (securact_notification_channel) (increase(securact_notifications_latency_seconds_count"
                    '{securact_event_type=~"delivery.act-served.*"}[$__rate_interval]))',
                    "{{securact_notification_channel}}",
                )
            ],
            "short",
        ),
        12,
    )
    layout.add(
        series(
            "From act served to relay acceptance, p50 and p95 (exemplars: traces)",
            [
                target(
                    "histogram_quantile(0.5, sum by (le) (rate(securact_notifications_latency_seconds_bucket"
                    '{securact_event_type=~"delivery.act-served.*"}[$__rate_interval])))',
                    "p50",
                    exemplar=True,
                ),
                target(
                    "histogram_quantile(0.95, sum by (le) (rate(securact_notifications_latency_seconds_bucket"
                    '{securact_event_type=~"delivery.act-served.*"}[$__rate_interval])))',
                    "p95",
                    exemplar=True,
                ),
            ],
            "s",
        ),
        12,
    )
    layout.row("3. Download (the person → delivery)")
    download = '{job="delivery", http_route="/v1/inbox/{act_id}/content"}'
    layout.add(
        series(
            "Downloads per second, by status",
            [
                target(
                    f"sum by (http_response_status_code) (rate({DURATION}_count{download}[$__rate_interval]))",
                    "{{http_response_status_code}}",
                )
            ],
            "reqps",
        ),
        12,
    )
    layout.add(
        series(
            "Download p95 (exemplars: traces)",
            [
                target(
                    f"histogram_quantile(0.95, sum by (le) (rate({DURATION}_bucket{download}[$__rate_interval])))",
                    "p95",
                    exemplar=True,
                )
            ],
            "s",
        ),
        12,
    )
    layout.row("4. Quality of service")
    layout.add(
        series(
            "Acts finalised, à personne or à domicile",
            [
                target(
                    "sum by (securact_act_quality) (increase(securact_acts_finalised_total[$__rate_interval]))",
                    "{{securact_act_quality}}",
                )
            ],
            "short",
        ),
        24,
    )
    return dashboard(
        "securact-act-journey",
        "SECURACT-NG — act journey",
        "An act from the office's deposit to its notice, its download and its quality of service.",
        layout,
    )


def dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard, by file name."""
    boards = {"securact-services.json": overview(), "securact-act-journey.json": act_journey()}
    for name in SERVICES:
        boards[f"securact-{name}.json"] = service(name)
    return boards


def main() -> None:
    for name, board in dashboards().items():
        (OUT / name).write_text(json.dumps(board, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
