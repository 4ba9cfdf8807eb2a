"""What a session may do: the CGU gate, a pending CGU answer, the read-only period of a
terminated account."""

from __future__ import annotations

from datetime import datetime

from identity.domain import (
    OPERATOR_SCOPES,
    RECIPIENT_SCOPES,
    TERMINATED_SCOPES,
    TERMS_ANSWER_PENDING_SCOPES,
    TERMS_PENDING_SCOPES,
    AccountStatus,
    readable_until,
)
from identity.notices import binding_terms_version
from identity.records import TERMS, instant, iso
from shared.contracts.identity import AccountRole
from shared.store.port import Document, DocumentReader


async def current_terms_version(reader: DocumentReader, now: datetime) -> int | None:
    """The CGU version in force: the latest whose effective date has come on this clock, or
    a later one retention already declared in force (`retention.terms-effective.v1`), so that
    a replica whose clock lags retention's does not keep serving the previous version."""
    found = await reader.find(
        TERMS, {"effective_at": {"$lte": iso(now)}}, sort=[("effective_at", -1)], limit=1
    )
    declared = await reader.find(
        TERMS, {"in_force_at": {"$ne": None}}, sort=[("version", -1)], limit=1
    )
    versions = [int(row["version"]) for row in (*found, *declared)]
    return max(versions) if versions else None


def has_refused_terms(account: Document) -> bool:
    """The recipient refused the CGU before ever accepting them. The refusal is final (consent
    refuses the declaration for good): the account gives no access at all. (A refusal after an
    acceptance terminates the account instead: read-only, see `scopes_for`.)"""
    return account.get("terms_refused_at") is not None


def read_only_until(account: Document, months: int) -> datetime | None:
    """The end of a terminated account's read-only period (None: not terminated)."""
    stored = instant(account.get("readable_until"))
    if stored is not None:
        return stored
    terminated_at = instant(account.get("terminated_at"))
    return readable_until(terminated_at, months) if terminated_at is not None else None


def scopes_for(
    account: Document, binding_terms: int | None, now: datetime, readable_months: int = 2
) -> frozenset[str]:
    """What an account's session may do now: the CGU gate, a pending CGU answer and the
    read-only termination period. `binding_terms` is the version binding the account
    (`notices.binding_terms_version`)."""
    if account["role"] == AccountRole.OPERATOR:
        return OPERATOR_SCOPES
    if account["status"] == AccountStatus.DELETED:
        return frozenset()
    if account["status"] == AccountStatus.TERMINATED:
        until = read_only_until(account, readable_months)
        return TERMINATED_SCOPES if until is None or now < until else frozenset()
    if has_refused_terms(account):
        return frozenset()
    accepted = account.get("accepted_terms_version")
    if binding_terms is not None and accepted != binding_terms:
        # A first acceptance is the consent (nothing served yet); a later version never
        # withholds the acts served under the one accepted.
        return TERMS_PENDING_SCOPES if accepted is None else TERMS_ANSWER_PENDING_SCOPES
    return RECIPIENT_SCOPES


async def account_scopes(
    reader: DocumentReader, account: Document, now: datetime, readable_months: int = 2
) -> frozenset[str]:
    """`scopes_for` with the version in force and the one binding the account read now."""
    current = await current_terms_version(reader, now)
    binding = await binding_terms_version(reader, account, current, now)
    return scopes_for(account, binding, now, readable_months)
