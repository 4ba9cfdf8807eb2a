"""Events of the platform's status (retention publishes them): incidents opened and closed,
planned maintenance announced, and signed outage attestations (CPC 748-7).

Subjects: `incident:<incident_id>`, `maintenance:<maintenance_id>`, `notice:<notice_id>`. No
personal data: ids, service names, territories, office ids, instants, digests and the texts an
operator writes for everyone concerned (an operator is named by their account id, as in every
journaled action).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

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


class NoticeKind(StrEnum):
    """What a notice to users is about."""

    MAINTENANCE = "maintenance"
    BREACH = "breach"


class BreachFacts(BaseModel):
    """What a personal data breach notice tells each person (RGPD art. 34 §2, referring to art.
    33 §3 b, c, d): the nature of the breach, its likely consequences, the measures taken or
    proposed, and whom to contact. The operator's words, in French, about no one in particular."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nature: str = Field(min_length=1, max_length=2000)
    consequences: str = Field(min_length=1, max_length=2000)
    measures: str = Field(min_length=1, max_length=2000)
    contact: str = Field(min_length=1, max_length=500, description="the DPO or contact point")


class MaintenanceFacts(BaseModel):
    """The planned maintenance a notice announces (as on the status page)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    maintenance_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    services: list[str]
    description: str = Field(max_length=1000)


@register
class UserNoticeIssuedV1(EventPayload):
    """An operator issued a notice to the users concerned: a planned maintenance (CGU §6, §7.1)
    or a personal data breach (CGU §11.2, RGPD art. 34). Notify sends it once to each address
    of the accounts in scope and to the offices in scope, each outcome journaled as
    `notify.notification-sent.v1` / `notify.notification-failed.v1`.

    Scope: every account and every office when `territories` and `offices` are both empty;
    otherwise the accounts whose territory is listed or that an office listed served, and the
    offices listed or that served those accounts. No address or person is named here."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "user-notice-issued"
    version: ClassVar[int] = 1

    notice_id: str
    kind: NoticeKind
    territories: list[str] = Field(description="territories concerned (none: see `offices`)")
    offices: list[str] = Field(description="office ids concerned (both empty: everyone)")
    issued_at: AwareDatetime
    issued_by: str = Field(description="the operator's account id")
    breach: BreachFacts | None = None
    maintenance: MaintenanceFacts | None = None

    @model_validator(mode="after")
    def _facts_of_kind(self) -> UserNoticeIssuedV1:
        if (self.kind is NoticeKind.BREACH) != (self.breach is not None) or (
            self.kind is NoticeKind.MAINTENANCE
        ) != (self.maintenance is not None):
            raise ValueError("a notice carries the facts of its kind, and only those")
        return self
