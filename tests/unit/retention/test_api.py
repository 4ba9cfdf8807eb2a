"""Retention's HTTP API is typed: every route's answer is a named schema in the OpenAPI
document (the certificate download: its two binary media types)."""

from __future__ import annotations

from pathlib import Path

from retention.main import create_app
from retention.settings import Settings


def test_every_route_documents_a_typed_answer(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
        log_json=False,
    )
    spec = create_app(settings).openapi()
    answers: dict[str, object] = {}
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            [(status, response)] = [
                (code, r) for code, r in operation["responses"].items() if code.startswith("2")
            ]
            content = response.get("content", {})
            answers[f"{method.upper()} {path}"] = (
                status,
                {media: body["schema"] for media, body in content.items()},
            )
    binary = {"type": "string", "format": "binary"}
    assert answers == {
        "POST /v1/holds": ("201", {"application/json": ref("HoldPlaced")}),
        "DELETE /v1/holds/{hold_id}": ("204", {}),
        "GET /v1/schedules": ("200", {"application/json": ref("SubjectSchedules")}),
        "GET /v1/certificates/keys": ("200", {"application/json": ref("CertificateKeys")}),
        "GET /v1/certificates/{certificate_id}/{token}.{kind}": (
            "200",
            {"application/pdf": binary, "application/json": binary},
        ),
        # The status: operators' incidents and maintenance, the public feed and attestations.
        "POST /v1/incidents": ("201", {"application/json": ref("IncidentView")}),
        "POST /v1/incidents/{incident_id}/close": (
            "200",
            {"application/json": ref("IncidentView")},
        ),
        "POST /v1/maintenances": ("201", {"application/json": ref("MaintenanceView")}),
        # Notices to users (maintenance notices go out from the announcement).
        "POST /v1/maintenances/{maintenance_id}/notice": (
            "200",
            {"application/json": ref("MaintenanceView")},
        ),
        "POST /v1/notices/breach": ("201", {"application/json": ref("NoticeView")}),
        "GET /v1/notices/{notice_id}": ("200", {"application/json": ref("NoticeView")}),
        "GET /v1/status": ("200", {"application/json": ref("StatusFeed")}),
        "GET /v1/incidents/{incident_id}": ("200", {"application/json": ref("IncidentView")}),
        "GET /v1/incidents/{incident_id}/attestation": (
            "200",
            {"application/json": ref("SignedAttestation")},
        ),
        "GET /v1/incidents/{incident_id}/attestation.pdf": ("200", {"application/pdf": binary}),
    }
    schedule = spec["components"]["schemas"]["ScheduleView"]["properties"]
    assert schedule["due_at"] == {"type": "string", "format": "date-time", "title": "Due At"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}
