"""Pure rules of identity: no I/O, no clock reads (instants are arguments)."""

from __future__ import annotations

import calendar
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.contracts.identity import AccountRole
from shared.legal_calendar import months_period_end

__all__ = [
    "ACCOUNT_WRITE",
    "ACTS_READ",
    "OFFICE_SCOPES",
    "TERMS_ACCEPT",
    "TERMS_ANSWER_PENDING_SCOPES",
    "AccountRole",
    "AccountStatus",
    "PasswordRejection",
    "RateWindow",
    "ThrottleState",
    "add_months",
    "check_password",
    "client_throttle_key",
    "earliest_terms_effective_at",
    "hash_secret",
    "identifier_throttle_key",
    "latest_terms_effective_at",
    "normalize_identifier",
]

PARIS = ZoneInfo("Europe/Paris")

# Scopes of recipient and operator access tokens (office clients get theirs from registration).
ACTS_READ = "acts:read"
ACTS_REPLY = "acts:reply"
ACCOUNT_WRITE = "account:write"
TERMS_ACCEPT = "terms:accept"
IDENTITY_ADMIN = "identity:admin"
RECIPIENT_SCOPES = frozenset({ACTS_READ, ACTS_REPLY, ACCOUNT_WRITE})
# CGU §12: a terminated account can still log in and read its acts, nothing else.
TERMINATED_SCOPES = frozenset({ACTS_READ})
# Until a first CGU version is accepted the only thing a session may do is answer it.
TERMS_PENDING_SCOPES = frozenset({TERMS_ACCEPT})
# A later version awaiting the answer never withholds the acts already served: reading,
# downloading, proving and replying stay open, and the session may answer.
TERMS_ANSWER_PENDING_SCOPES = RECIPIENT_SCOPES | {TERMS_ACCEPT}
OPERATOR_SCOPES = frozenset({IDENTITY_ADMIN, ACCOUNT_WRITE})
OFFICE_SCOPES = frozenset({"acts:write", "acts:read", "registry:read", "registry:write"})
OFFICE_ROLE = "office"
# The judicial authority reads the consent registry and nothing else (décret 2021-1625 art. 21).
JUDICIAL_ROLE = "judicial_authority"
JUDICIAL_SCOPES = frozenset({"registry:read"})
# The platform's own services calling one another (client credentials, `service_clients`).
SERVICE_ROLE = "service"
LINKS_READ = "links:read"
# Retention's erasure-certificate download links, for notify to e-mail them.
CERTIFICATES_READ = "certificates:read"

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # Argon2 hashes anything, but an unbounded body is a DoS lever.
_IDENTIFIER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed from an e-mail


class AccountStatus(StrEnum):
    PENDING_ACTIVATION = "pending_activation"
    ACTIVE = "active"
    TERMINATED = "terminated"
    # Five years after the consent's revocation: a tombstone, no login (retention item 5).
    DELETED = "deleted"


class PasswordRejection(StrEnum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    IS_IDENTIFIER = "is_identifier"
    COMMON = "common"  # too easy to guess (zxcvbn, French words added): see identity.passwords


# -- identifiers and secrets ------------------------------------------------------------------


def new_identifier() -> str:
    """A login identifier for a recipient: 12 unambiguous characters in groups of four."""
    raw = "".join(secrets.choice(_IDENTIFIER_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalize_identifier(typed: str) -> str:
    """What identifiers are compared on: case, spaces and dashes do not matter."""
    return "".join(ch for ch in typed.strip().upper() if ch not in " -")


def new_link_token() -> str:
    """A single-use link token (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy random secret (link tokens, refresh tokens, client secrets):
    enough because the input cannot be guessed; a slow hash is for low-entropy passwords."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secrets_match(secret: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), expected_hash)


def ip_hash(ip: str, pepper: bytes) -> str:
    """HMAC-SHA256 of an IP address: linkable across the journal, not reversible without the
    pepper (an unkeyed hash of the IPv4 space is a rainbow table away)."""
    return hmac.new(pepper, ip.encode("utf-8"), hashlib.sha256).hexdigest()


_IDENTIFIER_THROTTLE_LABEL = b"securact-ng/identity/login-identifier-throttle/v1"


def identifier_throttle_key(typed: str, pepper: bytes) -> str:
    """The login lockout key of a typed identifier: HMAC-SHA256 of its normalized form under a
    key derived from the pepper (domain-separated from `ip_hash`). Keyed on what was typed, not
    on an account, an unknown identifier is throttled exactly like a known one, so the lockout
    does not tell which exist; keyed, the throttle records do not hold the identifiers typed."""
    key = hmac.new(pepper, _IDENTIFIER_THROTTLE_LABEL, hashlib.sha256).digest()
    return hmac.new(key, normalize_identifier(typed).encode("utf-8"), hashlib.sha256).hexdigest()


_CLIENT_THROTTLE_LABEL = b"securact-ng/identity/token-client-throttle/v1"


def client_throttle_key(typed: str, pepper: bytes) -> str:
    """The token endpoint's lockout key of a typed client id: HMAC-SHA256 under a key derived
    from the pepper, like `identifier_throttle_key` (an unknown client id is throttled like a
    known one, and the records do not hold what was typed, however long)."""
    key = hmac.new(pepper, _CLIENT_THROTTLE_LABEL, hashlib.sha256).digest()
    return hmac.new(key, typed.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def content_hash(markdown: str) -> str:
    return hashlib.sha256(markdown.encode("utf-8")).hexdigest()


# -- passwords ---------------------------------------------------------------------------------


def check_password(password: str, identifier: str) -> PasswordRejection | None:
    """The fixed rules a password must meet for the account `identifier` (length, not the
    identifier), or None; how guessable it is, `Passwords.check` judges after these."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return PasswordRejection.TOO_SHORT
    if len(password) > MAX_PASSWORD_LENGTH:
        return PasswordRejection.TOO_LONG
    if normalize_identifier(password) == normalize_identifier(identifier):
        return PasswordRejection.IS_IDENTIFIER
    return None


# -- throttling --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThrottleState:
    """Consecutive failures of one key (an account or an IP hash) and when the last one was."""

    failures: int = 0
    last_failure_at: datetime | None = None

    def delay(self, free_failures: int, max_delay: timedelta) -> timedelta:
        """How long after the last failure the next attempt is refused: nothing for the first
        `free_failures`, then 1 s, 2 s, 4 s… doubling, capped at `max_delay`."""
        excess = self.failures - free_failures
        if excess < 0:
            return timedelta(0)
        if excess > 30:
            return max_delay
        return min(timedelta(seconds=2**excess), max_delay)

    def locked_until(self, free_failures: int, max_delay: timedelta) -> datetime | None:
        if self.last_failure_at is None:
            return None
        delay = self.delay(free_failures, max_delay)
        return self.last_failure_at + delay if delay else None

    def retry_after(self, now: datetime, free_failures: int, max_delay: timedelta) -> int | None:
        """Whole seconds to wait before trying again, or None if an attempt is allowed now."""
        until = self.locked_until(free_failures, max_delay)
        if until is None or now >= until:
            return None
        return max(1, math.ceil((until - now).total_seconds()))

    def after_failure(self, now: datetime, forget_after: timedelta) -> ThrottleState:
        if self.last_failure_at is not None and now - self.last_failure_at > forget_after:
            return ThrottleState(1, now)
        return ThrottleState(self.failures + 1, now)


@dataclass(frozen=True)
class RateWindow:
    """The recent instants of one key (an address, an account) for a rolling-window limit:
    at most `limit` events in any `span` (password-reset requests and e-mails)."""

    at: tuple[datetime, ...] = ()

    def recent(self, now: datetime, span: timedelta) -> tuple[datetime, ...]:
        return tuple(moment for moment in self.at if now - moment < span)

    def retry_after(self, now: datetime, limit: int, span: timedelta) -> int | None:
        """Whole seconds until one more event is allowed, or None if it is allowed now."""
        recent = sorted(self.recent(now, span))
        if len(recent) < limit:
            return None
        # The oldest event that must leave the window before another fits.
        leaves_at = recent[len(recent) - limit] + span
        return max(1, math.ceil((leaves_at - now).total_seconds()))

    def record(self, now: datetime, span: timedelta) -> RateWindow:
        """This window with one more event at `now` (events past the span dropped)."""
        return RateWindow((*self.recent(now, span), now))

    def forget_at(self, span: timedelta) -> datetime:
        """When none of the recorded events counts any more."""
        return max(self.at) + span


# -- CGU ---------------------------------------------------------------------------------------


def add_months(instant: datetime, months: int, zone: ZoneInfo = PARIS) -> datetime:
    """`instant` plus calendar months in legal time, as CPC 641 counts: same day of the month,
    or the month's last day when it has no such day (31 January + 1 month = 28/29 February)."""
    local = instant.astimezone(zone)
    month_index = local.month - 1 + months
    year = local.year + month_index // 12
    month = month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    moved = local.replace(tzinfo=None).replace(year=year, month=month, day=day)
    # Re-attach the zone: the wall-clock time is kept across a DST change.
    return moved.replace(tzinfo=zone).astimezone(instant.tzinfo)


def earliest_terms_effective_at(published_at: datetime, notice_months: int = 1) -> datetime:
    """CGU §4: a new version takes effect no sooner than one month after its publication."""
    return add_months(published_at, notice_months)


def readable_until(terminated_at: datetime, months: int = 2, zone: ZoneInfo = PARIS) -> datetime:
    """CGU §12: a terminated account reads its acts for two months, until 24:00 of the last day
    in legal time (CPC 641): retention erases them at this very instant (same rule, same zone:
    `shared.legal_calendar.months_period_end`)."""
    return months_period_end(terminated_at, months, zone)


def latest_terms_effective_at(published_at: datetime, max_lead_months: int = 12) -> datetime:
    """A version scheduled years ahead would sit in every recipient's notice and block every
    later version (versions take effect in order): the effective date is bounded."""
    return add_months(published_at, max_lead_months)


def activation_lapses_at(last_activation_expired_at: datetime, delay_days: int = 30) -> datetime:
    """When a recipient account never activated lapses: `delay_days` (30) after its last
    activation link expired. Until then an operator may reissue a link (the person asked for
    one late); after, no consent was ever given and nothing obliges the platform to keep the
    declaration, its proofs or the account: décret 2021-1625 art. 21's five years concern
    consents that existed, and data not needed for its purpose is not kept (RGPD art. 5(1)(c)
    data minimisation, 5(1)(e) storage limitation). The delay is that grace period, a setting
    (`unactivated_expiry_days`)."""
    return last_activation_expired_at + timedelta(days=delay_days)


def activation_lapse_cutoff(now: datetime, delay_days: int = 30) -> datetime:
    """The latest last-link expiry that has lapsed at `now` (`activation_lapses_at` inverted,
    for the query)."""
    return now - timedelta(days=delay_days)
