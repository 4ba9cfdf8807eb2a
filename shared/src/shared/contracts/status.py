"""Events of the platform's status (retention publishes them): incidents opened and closed,
planned maintenance announced, and signed outage attestations (CPC 748-7).

Subjects: `incident:<incident_id>`, `maintenance:<maintenance_id>`. No personal data: ids,
service names, territories, office ids, instants and digests only (an operator is named by
their account id, as in every journaled action).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register


class IncidentOrigin(StrEnum):
    """Who opened the incident: the platform's own probes, or an operator."""

    PROBE = "probe"
    OPERATOR = "operator"


@register
class IncidentOpenedV1(EventPayload):
    """An unavailability began: seen by the probes (a readiness check failing for longer than
    the threshold; `started_at` is the first failed check) or declared by an operator."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "incident-opened"
    version: ClassVar[int] = 1

    incident_id: str
    origin: IncidentOrigin
    started_at: AwareDatetime
    services: list[str] = Field(description="the services unavailable")
    territories: list[str] = Field(description="the territories affected (all when empty)")
    offices: list[str] = Field(default_factory=list, description="office ids affected, if any")
    cause: str = Field(max_length=500)
    opened_by: str | None = Field(default=None, description="the operator's account id")


@register
class IncidentClosedV1(EventPayload):
    """The unavailability ended at `ended_at` (the probes' first successful check, or the
    instant an operator states)."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "incident-closed"
    version: ClassVar[int] = 1

    incident_id: str
    origin: IncidentOrigin
    started_at: AwareDatetime
    ended_at: AwareDatetime
    closed_by: str | None = Field(default=None, description="the operator's account id")


@register
class MaintenanceAnnouncedV1(EventPayload):
    """A planned maintenance was announced on the status page (CGU §6, §7.1)."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "maintenance-announced"
    version: ClassVar[int] = 1

    maintenance_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    services: list[str]
    territories: list[str]
    offices: list[str] = Field(default_factory=list)
    announced_by: str


@register
class OutageAttestedV1(EventPayload):
    """A signed outage attestation was issued for a closed incident (CPC 748-7): its
    fingerprints, journaled for good, so anyone holding the attestation can find it here."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "outage-attested"
    version: ClassVar[int] = 1

    incident_id: str
    attestation_id: str
    fingerprint: str = Field(description="SHA-256 (hex) of the attestation's RFC 8785 JSON")
    pdf_sha256: str = Field(description="SHA-256 (hex) of the PDF")
    key_id: str = Field(description="the platform signing key's id")
    issued_at: AwareDatetime
