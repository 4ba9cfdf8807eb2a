"""The person's own data as identity holds it, exported as JSON (GDPR arts 15 and 20).
Consent exports the declaration; this is the account side.

What is exported, picked field by field from what identity stores (nothing is computed that is
not stored, nothing secret is copied):

- the account: login identifier as shown to the holder, e-mail, mobile, role, status, the
  declaration it was opened for, suspension, termination reason, CGU versions answered, and
  every date the account records (`*_at`: created, activated, last login, terminated…);
- the CGU decisions: version, content hash, accepted or refused, instant, IP address and user
  agent (the evidence of the consent to electronic service);
- the second factor: enabled or not and since when, an enrolment waiting for its first code,
  how many recovery codes are left;
- the sessions (one per successful login, kept as the login history): opened, ended or
  revoked (and why), whether a second factor was used, when tokens were last issued for it and
  when the portal last saw it. Identity stores no IP address or user agent for sessions;
- the activation and password-reset links sent: purpose and dates;
- the login throttle of the account's identifier: recent consecutive failures and the last
  one (the journal of every identification attempt is audit's, not identity's);
- the post-mortem directives, as recorded (the erasure chosen, the person to inform, dates).

Never exported: the password hash, TOTP secrets (enabled or pending), the last TOTP step,
recovery-code hashes, refresh tokens, link tokens, portal cookies and CSRF tokens (all stored
only as hashes or sealed, and each of them a credential), the normalized identifier (the
displayed one is the same identifier), nor anything about another account. The reset-request
rate window is not exported either: its instants are those of the reset links listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypedDict

from identity import errors
from identity.records import (
    ACCOUNTS,
    LINKS,
    PORTAL_SESSIONS,
    POST_MORTEM_DIRECTIVES,
    REFRESH_TOKENS,
    SESSIONS,
    TERMS_DECISIONS,
    THROTTLES,
    Context,
    identifier_throttle,
    instant,
    iso,
)
from shared.store.port import Document

# The file's name when downloaded (the API's and the portal's).
ACCOUNT_EXPORT_FILENAME = "mon-compte.json"
# Sessions whose refresh tokens are read per query.
SESSION_BATCH = 200


class AccountRecord(TypedDict):
    account_id: str
    identifier: str | None
    role: str | None
    status: str | None
    person_kind: str | None
    declaration_id: str | None
    email: str | None
    mobile: str | None
    pending_email: str | None
    suspended: bool
    suspension_reason: str | None
    termination_reason: str | None
    accepted_terms_version: int | None
    refused_terms_version: int | None
    dates: dict[str, str]


class DecisionRecord(TypedDict):
    version: int | None
    content_hash: str | None
    decision: str | None
    at: str | None
    ip: str | None
    user_agent: str | None


class SecondFactorRecord(TypedDict):
    totp_enabled: bool
    totp_enabled_at: str | None
    totp_enrolment_pending: bool
    recovery_codes_left: int


class SessionRecord(TypedDict):
    session_id: str
    state: str
    created_at: str | None
    expires_at: str | None
    revoked_at: str | None
    revocation_reason: str | None
    second_factor_used: bool
    last_token_issued_at: str | None
    portal_last_seen_at: str | None


class LinkRecord(TypedDict):
    purpose: str | None
    created_at: str | None
    expires_at: str | None
    used_at: str | None
    superseded_at: str | None


class FailedLogins(TypedDict):
    consecutive_failures: int
    last_failure_at: str | None


class DirectivesRecord(TypedDict):
    erasure: str | None
    designated_name: str | None
    designated_email: str | None
    recorded_at: str | None
    changed_at: str | None


class AccountExport(TypedDict):
    """The export file (`mon-compte.json`), JSON-ready."""

    exported_at: str
    account: AccountRecord
    terms_decisions: list[DecisionRecord]
    second_factor: SecondFactorRecord
    sessions: list[SessionRecord]
    links: list[LinkRecord]
    failed_logins: FailedLogins | None
    post_mortem_directives: DirectivesRecord | None


class PersonalData:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def export_account(self, account_id: str) -> AccountExport:
        """Everything identity holds about the account `account_id`, JSON-ready (see the
        module docstring for what is in and what never is)."""
        store = self._ctx.store
        now = self._ctx.clock.now()
        account = await store.get(ACCOUNTS, account_id)
        if account is None:
            raise errors.not_found("account")
        decisions = await store.find(
            TERMS_DECISIONS, {"account_id": account_id}, sort=[("version", 1)]
        )
        sessions = await store.find(SESSIONS, {"account_id": account_id}, sort=[("_id", 1)])
        links = await store.find(LINKS, {"account_id": account_id}, sort=[("created_at", 1)])
        issued = await self._last_issued(s["_id"] for s in sessions)
        seen = await self._portal_last_seen(account_id)
        return AccountExport(
            exported_at=iso(now),
            account=_account(account),
            terms_decisions=[_decision(d) for d in decisions],
            second_factor=_second_factor(account),
            sessions=[_session(s, now, issued.get(s["_id"]), seen.get(s["_id"])) for s in sessions],
            links=[_link(link) for link in links],
            failed_logins=await self._failed_logins(account),
            post_mortem_directives=_directives(await store.get(POST_MORTEM_DIRECTIVES, account_id)),
        )

    async def _last_issued(self, session_ids: Iterable[str]) -> dict[str, str]:
        """Per session, when its latest token pair was issued (at login or at a refresh)."""
        ids = list(session_ids)
        latest: dict[str, str] = {}
        for start in range(0, len(ids), SESSION_BATCH):
            batch = ids[start : start + SESSION_BATCH]
            for row in await self._ctx.store.find(REFRESH_TOKENS, {"session_id": {"$in": batch}}):
                _keep_latest(latest, str(row["session_id"]), row.get("created_at"))
        return latest

    async def _portal_last_seen(self, account_id: str) -> dict[str, str]:
        """Per session, the portal's last request of it (while its portal record is kept)."""
        latest: dict[str, str] = {}
        for row in await self._ctx.store.find(PORTAL_SESSIONS, {"account_id": account_id}):
            _keep_latest(latest, str(row["session_id"]), row.get("last_seen_at"))
        return latest

    async def _failed_logins(self, account: Document) -> FailedLogins | None:
        identifier = account.get("identifier")
        if not identifier:
            return None
        key = identifier_throttle(self._ctx.settings, str(identifier))
        record = await self._ctx.store.get(THROTTLES, key)
        if record is None or not int(record.get("failures", 0)):
            return None
        return FailedLogins(
            consecutive_failures=int(record["failures"]),
            last_failure_at=record.get("last_failure_at"),
        )


def _keep_latest(latest: dict[str, str], key: str, value: object) -> None:
    if isinstance(value, str) and (key not in latest or _later(value, latest[key])):
        latest[key] = value


def _later(value: str, than: str) -> bool:
    a, b = instant(value), instant(than)
    return a is not None and (b is None or a > b)


def _account(account: Document) -> AccountRecord:
    dates = {k: v for k, v in sorted(account.items()) if k.endswith("_at") and v is not None}
    if account.get("tokens_not_before"):
        # Every token issued until then was revoked (password reset, suspension, termination…).
        dates["credentials_revoked_at"] = account["tokens_not_before"]
    return AccountRecord(
        account_id=account["_id"],
        identifier=account.get("display_identifier") or None,
        role=account.get("role"),
        status=account.get("status"),
        person_kind=account.get("person_kind"),
        declaration_id=account.get("declaration_id"),
        email=account.get("email"),
        mobile=account.get("mobile"),
        pending_email=account.get("pending_email"),
        suspended=bool(account.get("suspended")),
        suspension_reason=account.get("suspension_reason"),
        termination_reason=account.get("termination_reason"),
        accepted_terms_version=account.get("accepted_terms_version"),
        refused_terms_version=account.get("terms_refused_version"),
        dates=dates,
    )


def _directives(row: Document | None) -> DirectivesRecord | None:
    if row is None:
        return None
    return DirectivesRecord(
        erasure=row.get("erasure"),
        designated_name=row.get("designated_name"),
        designated_email=row.get("designated_email"),
        recorded_at=row.get("recorded_at"),
        changed_at=row.get("changed_at"),
    )


def _decision(decision: Document) -> DecisionRecord:
    return DecisionRecord(
        version=decision.get("version"),
        content_hash=decision.get("content_hash"),
        decision=decision.get("decision"),
        at=decision.get("at"),
        # None once retention deleted the account: the decision stays as evidence without them.
        ip=decision.get("ip"),
        user_agent=decision.get("user_agent"),
    )


def _second_factor(account: Document) -> SecondFactorRecord:
    enabled = bool(account.get("totp_secret"))
    codes: Sequence[object] = account.get("recovery_codes") or []
    return SecondFactorRecord(
        totp_enabled=enabled,
        # Recorded since the enrolment date is kept: absent for older enrolments.
        totp_enabled_at=account.get("totp_enabled_at") if enabled else None,
        totp_enrolment_pending=bool(account.get("totp_pending_secret")),
        recovery_codes_left=len(codes) if enabled else 0,
    )


def _session(
    session: Document, now: datetime, last_issued: str | None, portal_seen: str | None
) -> SessionRecord:
    expires_at = instant(session.get("expires_at"))
    if session.get("revoked_at"):
        state = "revoked"
    elif expires_at is not None and expires_at <= now:
        state = "expired"
    else:
        state = "active"
    return SessionRecord(
        session_id=session["_id"],
        state=state,
        created_at=session.get("created_at"),
        expires_at=session.get("expires_at"),
        revoked_at=session.get("revoked_at"),
        revocation_reason=_text(session.get("revocation_reason")),
        second_factor_used=bool(session.get("second_factor")),
        last_token_issued_at=last_issued,
        portal_last_seen_at=portal_seen,
    )


def _text(value: object) -> str | None:
    """A stored enum value as plain text (the in-memory store keeps the enum itself)."""
    return None if value is None else str(value)


def _link(link: Document) -> LinkRecord:
    return LinkRecord(
        purpose=link.get("purpose"),
        created_at=link.get("created_at"),
        expires_at=link.get("expires_at"),
        used_at=link.get("used_at"),
        superseded_at=link.get("superseded_at"),
    )
