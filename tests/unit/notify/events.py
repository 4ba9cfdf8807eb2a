"""Published fixtures of every event notify consumes (delivery and retention are not built yet:
these are the contracts they must publish), shared by the unit and integration tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shared.clock import Clock
from shared.contracts import consent, delivery, identity, retention
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.legal_calendar import Territory

HOSTILE_OFFICE = '<script>alert("x")</script><b>Étude</b> Dupont & Associés'
# What delivery puts in its events: consent's ActNature code, shown with its French label.
ACT_NATURE = consent.ActNature.SIGNIFICATION_JUGEMENT.value
ACT_NATURE_LABEL = "signification d'un jugement ou d'une autre décision"
ACT_SECRET = "CONTENU CONFIDENTIEL DE L'ACTE"  # never given to notify: must never show up


def wrap(payload: EventPayload, clock: Clock, subject: str, actor: str = "test") -> Envelope:
    return new_envelope(payload, subject=subject, actor=actor, clock=clock)


def act_served(
    clock: Clock,
    *,
    act_id: str = "act-1",
    office_id: str = "office-7",
    email: str = "jean.dupont@example.fr",
    mobile: str | None = None,
    office_name: str = HOSTILE_OFFICE,
    account_id: str = "acc-1",
    territory: Territory = Territory.METROPOLE,
    served_at: datetime | None = None,
) -> Envelope:
    # v2, still handled while in flight: it carries the contacts, so most tests need no book.
    payload = delivery.ActServedV2(
        **_served_fields(act_id, office_id, email, mobile, office_name, account_id),
        served_at=served_at or clock.now(),
        recipient_territory=territory,
    )
    return wrap(payload, clock, f"act:{act_id}", f"office:{office_id}")


def act_served_v3(
    clock: Clock,
    *,
    act_id: str = "act-1",
    account_id: str = "acc-1",
    declaration_id: str = "decl-1",
    territory: Territory = Territory.METROPOLE,
) -> Envelope:
    """What delivery publishes now: ids, no contact datum (notify's book has the addresses)."""
    payload = delivery.ActServedV3(
        act_id=act_id,
        declaration_id=declaration_id,
        recipient_account_id=account_id,
        act_nature=ACT_NATURE,
        office_id="office-7",
        office_name="Étude Martin",
        served_at=clock.now(),
        portal_url="https://portail.securact.test/actes",
        recipient_territory=territory,
    )
    return wrap(payload, clock, f"act:{act_id}", "office:office-7")


def mobile_changed(
    clock: Clock, mobile: str | None, *, account_id: str = "acc-1", declaration_id: str = "decl-1"
) -> Envelope:
    payload = identity.MobileChangedV1(
        account_id=account_id,
        declaration_id=declaration_id,
        mobile=mobile,
        changed_at=clock.now(),
    )
    return wrap(payload, clock, f"account:{account_id}")


def act_served_v1(
    clock: Clock, *, mobile: str | None = None, served_at: datetime | None = None
) -> Envelope:
    """What delivery published before the recipient's territory travelled with the act."""
    payload = delivery.ActServedV1(
        **_served_fields("act-1", "office-7", "jean.dupont@example.fr", mobile, "Étude", "acc-1"),
        served_at=served_at or clock.now(),
    )
    return wrap(payload, clock, "act:act-1", "office:office-7")


def _served_fields(
    act_id: str,
    office_id: str,
    email: str,
    mobile: str | None,
    office_name: str,
    account_id: str,
) -> dict[str, str | None]:
    return {
        "act_id": act_id,
        "declaration_id": "decl-1",
        "recipient_account_id": account_id,
        "recipient_email": email,
        "recipient_mobile": mobile,
        "act_nature": ACT_NATURE,
        "office_id": office_id,
        "office_name": office_name,
        "portal_url": "https://portail.securact.test/actes",
    }


# The links identity would answer for the link ids below (`tests.unit.notify.conftest`).
ACTIVATION_LINK_ID = "link-activation-1"
RESET_LINK_ID = "link-reset-1"
ACTIVATION_URL = "https://portail.securact.test/activation?token=activation-token-42"
RESET_URL = "https://portail.securact.test/reinitialisation?token=reset-token-42"
CERTIFICATE_ID = "cert-5"
CERTIFICATE_REFERENCE = f"certificate:{CERTIFICATE_ID}"
CERTIFICATE_URL = "https://portail.securact.test/v1/certificates/cert-5/download-token-5.pdf"
LINKS = {
    ACTIVATION_LINK_ID: ACTIVATION_URL,
    RESET_LINK_ID: RESET_URL,
    CERTIFICATE_REFERENCE: CERTIFICATE_URL,
}


def activation(
    clock: Clock,
    *,
    account_id: str = "acc-1",
    email: str = "jean.dupont@example.fr",
    link_id: str = ACTIVATION_LINK_ID,
) -> Envelope:
    payload = identity.ActivationLinkIssuedV2(
        account_id=account_id,
        email=email,
        identifier="jdupont-42",
        link_id=link_id,
        expires_at=clock.now() + timedelta(days=7),
    )
    return wrap(payload, clock, f"account:{account_id}")


def password_reset(
    clock: Clock, *, account_id: str = "acc-1", link_id: str = RESET_LINK_ID
) -> Envelope:
    payload = identity.PasswordResetRequestedV2(
        account_id=account_id,
        email="jean.dupont@example.fr",
        link_id=link_id,
        expires_at=clock.now() + timedelta(hours=1),
    )
    return wrap(payload, clock, f"account:{account_id}")


def terms_notice(
    clock: Clock, *, account_id: str = "acc-1", email: str = "jean.dupont@example.fr"
) -> Envelope:
    payload = identity.TermsNoticeIssuedV1(
        account_id=account_id,
        email=email,
        terms_version=2,
        effective_at=clock.now() + timedelta(days=32),
    )
    return wrap(payload, clock, f"account:{account_id}")


def account_created(clock: Clock, *, account_id: str = "acc-1") -> Envelope:
    payload = identity.AccountCreatedV1(
        account_id=account_id, role=identity.AccountRole.RECIPIENT, declaration_id="decl-1"
    )
    return wrap(payload, clock, f"account:{account_id}")


def account_terminated(clock: Clock, *, account_id: str = "acc-1") -> Envelope:
    payload = identity.AccountTerminatedV1(
        account_id=account_id,
        declaration_id="decl-1",
        terminated_at=clock.now(),
        reason=identity.TerminationReason.RECIPIENT_REQUEST,
    )
    return wrap(payload, clock, f"account:{account_id}")


def declaration_registered(
    clock: Clock, *, email: str = "jean.dupont@example.fr", mobile: str | None = None
) -> Envelope:
    payload = consent.DeclarationRegisteredV1(
        declaration_id="decl-1", person_kind=consent.PersonKind.NATURAL, email=email, mobile=mobile
    )
    return wrap(payload, clock, "declaration:decl-1")


def consent_revoked(clock: Clock, *, account_id: str | None = "acc-1") -> Envelope:
    payload = consent.ConsentRevokedV1(
        declaration_id="decl-1", account_id=account_id, revoked_at=clock.now()
    )
    return wrap(payload, clock, "declaration:decl-1")


def lettre_simple_due(
    clock: Clock,
    *,
    act_id: str = "act-1",
    territory: Territory = Territory.METROPOLE,
    served_at: datetime | None = None,
) -> Envelope:
    payload = delivery.LettreSimpleDueV2(
        act_id=act_id,
        office_id="office-7",
        office_email="etude.dupont@huissiers.fr",
        act_nature=ACT_NATURE,
        requester_name="SCI <Les Tilleuls>",
        served_at=served_at or clock.now(),
        due_on=date(2031, 3, 4),
        recipient_territory=territory,
    )
    return wrap(payload, clock, f"act:{act_id}")


def lettre_simple_due_v1(clock: Clock, *, served_at: datetime | None = None) -> Envelope:
    """What delivery published before the recipient's territory travelled with the task."""
    payload = delivery.LettreSimpleDueV1(
        act_id="act-1",
        office_id="office-7",
        office_email="etude.dupont@huissiers.fr",
        act_nature=ACT_NATURE,
        requester_name="SCI Les Tilleuls",
        served_at=served_at or clock.now(),
        due_on=date(2031, 3, 4),
    )
    return wrap(payload, clock, "act:act-1")


def reply_received(clock: Clock, *, act_id: str = "act-1") -> Envelope:
    payload = delivery.ReplyReceivedV1(
        act_id=act_id,
        office_id="office-7",
        office_email="etude.dupont@huissiers.fr",
        reply_id="reply-9",
        received_at=clock.now(),
    )
    return wrap(payload, clock, f"act:{act_id}")


def erasure_certificate(clock: Clock, *, account_id: str = "acc-1") -> Envelope:
    payload = retention.ErasureCertificateIssuedV2(
        account_id=account_id,
        email="jean.dupont@example.fr",
        certificate_id=CERTIFICATE_ID,
        issued_at=clock.now(),
        fingerprint="f" * 64,
        key_id="securact.local/platform+0a1b2c3d",
        pdf_sha256="e" * 64,
    )
    return wrap(payload, clock, f"account:{account_id}")


def contact_data_purge_requested(clock: Clock, *, account_id: str = "acc-1") -> Envelope:
    payload = retention.ContactDataPurgeRequestedV1(
        erasure_id="erasure-3", account_id=account_id, requested_at=clock.now()
    )
    return wrap(payload, clock, f"account:{account_id}", "service:retention")


def declaration_purge_requested(clock: Clock, *, declaration_id: str = "decl-1") -> Envelope:
    payload = retention.DeclarationPurgeRequestedV1(
        erasure_id="erasure-4",
        declaration_id=declaration_id,
        revoked_at=clock.now() - timedelta(days=5 * 366),
        requested_at=clock.now(),
    )
    return wrap(payload, clock, f"declaration:{declaration_id}", "service:retention")


def instant(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)
