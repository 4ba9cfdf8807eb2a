"""What the status use cases share: retention's `Context` (store, outbox, clock, signing key,
audit receipts), the status policy from the settings, and the status repositories."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Final

from retention.context import Context
from retention.settings import Settings
from retention.status.records import (
    AttestationRepository,
    IncidentRepository,
    MaintenanceRepository,
    NoticeRepository,
    ProbeRepository,
)
from shared.refusals import Refusal

# The end-to-end path of an act (deposit → notice → download), probed as such when its probe is
# configured (`retention.status.path`), else read from the readiness of the services it needs.
PATH: Final = "path"
PATH_SERVICES: Final = ("identity", "delivery", "notify", "audit")

# What each service does for the people who use the platform, as an attestation names it.
FUNCTIONS: Final[Mapping[str, str]] = {
    "identity": "connexion au portail et à l'API (comptes, jetons d'accès)",
    "consent": "registre des consentements à la signification électronique",
    "delivery": "dépôt des actes par les études, mise à disposition et téléchargement des actes",
    "notify": "avis de mise à disposition (courriel, SMS)",
    "audit": "journal de preuve (enregistrement et reçus des événements)",
    "retention": "certificats d'effacement et attestations d'indisponibilité",
}
LABELS: Final[Mapping[str, str]] = {
    "identity": "Connexion et comptes",
    "consent": "Registre des consentements",
    "delivery": "Dépôt et téléchargement des actes",
    "notify": "Avis de mise à disposition",
    "audit": "Journal de preuve",
    "retention": "Certificats et attestations",
}


class StatusRefusal(Refusal):
    """A refused status request; `code` and `status` name the case."""

    status = 404
    code = "incident-not-found"
    title = "Refused"


def not_found(what: str) -> StatusRefusal:
    return StatusRefusal(f"No {what} with this id.", code=f"{what}-not-found", status=404)


@dataclass(frozen=True)
class StatusPolicy:
    targets: Mapping[str, str] = field(default_factory=dict)
    threshold: timedelta = timedelta(minutes=5)
    probe_timeout: float = 3.0
    history: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> StatusPolicy:
        urls = {
            "identity": settings.identity_url,
            "consent": settings.consent_url,
            "delivery": settings.delivery_url,
            "notify": settings.notify_url,
            "audit": settings.audit_url,
        }
        return cls(
            targets={
                name: settings.status_probe_urls.get(name, urls[name]).rstrip("/")
                for name in settings.status_probe_services
            },
            threshold=timedelta(seconds=settings.status_outage_threshold_seconds),
            probe_timeout=settings.status_probe_timeout_seconds,
        )


@dataclass(frozen=True)
class StatusContext:
    base: Context
    policy: StatusPolicy

    @cached_property
    def probes(self) -> ProbeRepository:
        return ProbeRepository(self.base.clock)

    @cached_property
    def incidents(self) -> IncidentRepository:
        return IncidentRepository(self.base.clock)

    @cached_property
    def maintenances(self) -> MaintenanceRepository:
        return MaintenanceRepository(self.base.clock)

    @cached_property
    def attestations(self) -> AttestationRepository:
        return AttestationRepository(self.base.clock)

    @cached_property
    def notices(self) -> NoticeRepository:
        return NoticeRepository(self.base.clock)
