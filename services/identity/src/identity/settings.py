"""Settings of the identity service: env `SECURACT_IDENTITY_*`, then `SECURACT_*`."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr

from shared.settings import BaseServiceSettings, service_config

PLATFORM_AUDIENCES = ("identity", "consent", "delivery", "notify", "audit", "retention")


class Settings(BaseServiceSettings):
    service_name: ClassVar[str] = "identity"
    default_port: ClassVar[int] = 8101
    model_config = service_config("identity")

    # Argon2id: OWASP's first recommended profile is m=19 MiB/t=2; we take more memory and a
    # pass more (bench: `make bench` reports the login rate these give on the machine).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)
    password_min_strength: int = Field(
        default=3,
        ge=0,
        le=4,
        description="zxcvbn score (0-4) a new password must reach; 3 is about 10^8 guesses",
    )

    token_key_file: Path = Field(
        default=Path("var/keys/identity-tokens.json"),
        description="Identity's own Ed25519 token keys (0600 JSON), rotated with the CLI.",
    )
    token_audiences: tuple[str, ...] = PLATFORM_AUDIENCES
    access_token_ttl_seconds: int = Field(default=600, ge=30)
    session_ttl_hours: int = Field(default=12, ge=1, description="refresh-token family lifetime")
    portal_idle_timeout_minutes: int = Field(
        default=30, ge=1, description="a portal session unused this long ends (12 h at most)"
    )
    key_publish_lead_seconds: int = Field(
        default=600, description="a rotated key is published this long before it signs"
    )

    activation_link_ttl_hours: int = Field(default=72, ge=1)
    unactivated_expiry_days: int = Field(
        default=30,
        ge=1,
        description="days after its last activation link expired that an account never "
        "activated lapses: its declaration, proofs and account are then destroyed (RGPD art. "
        "5(1)(c) and (e): no consent was given, nothing to keep)",
    )
    activation_lapse_interval_seconds: float = Field(
        default=3600.0, gt=0, description="how often lapsed activations are looked for"
    )
    reset_link_ttl_minutes: int = Field(default=60, ge=5)
    reset_emails_per_account_per_hour: int = Field(
        default=3, ge=1, description="reset e-mails one account receives in any 60 minutes"
    )
    reset_requests_per_ip_per_hour: int = Field(
        default=20, ge=1, description="reset requests one address makes in any 60 minutes"
    )
    link_retention_days: int = Field(
        default=30, ge=1, description="expired, used or superseded links are kept this long"
    )

    throttle_free_failures: int = Field(default=5, ge=1)
    throttle_ip_free_failures: int = Field(
        default=20, ge=1, description="higher than per account: offices share NAT addresses"
    )
    throttle_max_delay_seconds: int = Field(default=900, ge=1)
    throttle_forget_after_seconds: int = Field(default=3600, ge=60)
    identification_window_seconds: int = Field(
        default=900,
        ge=1,
        description="failed identifications of one identifier, client or address in this long: "
        "the first journaled by itself, the others in one summary event",
    )
    identification_summary_interval_seconds: float = Field(
        default=60.0, gt=0, description="how often ended identification windows are summarized"
    )

    ip_hash_pepper: SecretStr = SecretStr("securact-dev-ip-pepper")
    terms_notice_months: int = Field(default=1, ge=1, description="CGU §4: one month's notice")
    termination_readable_months: int = Field(
        default=2,
        ge=0,
        description="CGU §12: months a terminated account reads its acts (to 24:00 of the last "
        "day, Paris legal time); keep equal to retention's grace_months",
    )
    publish_shipped_terms: bool = Field(
        default=True,
        description="publish at start, as new CGU versions with a full notice, the texts "
        "shipped with the service and not yet published",
    )
    terms_max_lead_months: int = Field(
        default=12,
        ge=1,
        description="a CGU version takes effect at most this long after it is published",
    )
    totp_issuer: str = "SECURACT-NG"
    # The "Aide et contacts" page (CGU §7.5, §11.1): texts the operator configures.
    support_contact: str = Field(
        default="support@securact.example, 01 00 00 00 00",
        description="how to reach the support (shown on the portal's help page)",
    )
    support_hours: str = Field(
        default="du lundi au vendredi, de 9 h à 18 h (heure de Paris), hors jours fériés",
        description="when the support answers, in French",
    )
    dpo_contact: str = Field(
        default="Délégué à la protection des données, dpo@securact.example",
        description="the data protection officer's contact (GDPR art. 37-39)",
    )
    cnil_complaint_text: str = Field(
        default=(
            "Si vous estimez, après nous avoir contactés, que vos droits ne sont pas respectés, "
            "vous pouvez adresser une réclamation à la Commission nationale de l'informatique "
            "et des libertés (CNIL), 3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07, "
            "ou en ligne sur www.cnil.fr/plaintes."
        ),
        description="the right to complain to the supervisory authority (GDPR art. 77)",
    )
    terms_notice_batch_size: int = Field(
        default=500, ge=1, description="CGU notices written per transaction by the fan-out"
    )
    terms_notice_interval_seconds: float = Field(
        default=5.0, gt=0, description="how often the fan-out looks for pending publications"
    )
    purge_interval_seconds: float = Field(
        default=3600.0, gt=0, description="how often expired sessions, links and throttles go"
    )

    consent_url: str = Field(
        default="http://127.0.0.1:8102",
        description="Consent's base URL: the portal's consent pages call its API server-side.",
    )
    consent_timeout_seconds: float = Field(
        default=10.0, gt=0, description="the portal's calls to consent give up after this"
    )

    delivery_url: str = Field(
        default="http://127.0.0.1:8103",
        description="Delivery's base URL: the portal's acts pages call its API server-side.",
    )
    delivery_timeout_seconds: float = Field(
        default=30.0, gt=0, description="the portal's calls to delivery give up after this idle"
    )
    reply_max_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=1,
        description="largest reply file the portal relays to delivery (keep equal to delivery's)",
    )

    notify_client_secret: SecretStr = Field(
        default=SecretStr("securact-dev-notify-client-secret"),
        description="Notify's client secret (client `service-notify`, scope links:read); set "
        "SECURACT_NOTIFY_CLIENT_SECRET once for identity and notify.",
    )
    delivery_client_secret: SecretStr = Field(
        default=SecretStr("securact-dev-delivery-client-secret"),
        description="Delivery's client secret (client `service-delivery`, scope consent:status); "
        "set SECURACT_DELIVERY_CLIENT_SECRET once for identity and delivery.",
    )

    seed_dev_credentials_file: Path | None = Field(
        default=None,
        description="Dev only: seed a demo office client and an operator, write them here.",
    )

    @property
    def issuer(self) -> str:
        """The tokens' `iss` and the base of e-mailed links: the platform-wide `identity_url`
        (`SECURACT_IDENTITY_URL`), which every service's verifier also expects."""
        return self.identity_url.rstrip("/")
