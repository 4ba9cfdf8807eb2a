"""Identity's part of retention's protocols.

Retention owns the clocks; identity applies three requests, each inside the consumer's inbox
transaction (a redelivered request changes nothing and confirms nothing twice):

- `retention.contact-data-purge-requested.v1` (end of the termination grace period): the
  account forgets its e-mail, mobile, TOTP secrets, recovery codes, links and post-mortem
  directives (they name a third person); it keeps its id,
  role, identifier, dates and statuses. Confirmed by `identity.contact-data-purged.v1`.
- `retention.account-deletion-requested.v1` (five years after the consent's revocation): the
  account becomes a tombstone (id, role, dates, statuses): credentials revoked and deleted,
  contact data and login identifier gone, CGU decisions stripped of IP and user agent (their
  version, hash and instant stay as evidence). Confirmed by `identity.account-deleted.v1`.
- `retention.terms-effective.v1` (a CGU version's effective date): the version is marked in
  force. Identity already switches on its own clock (`sessions.current_terms_version`); the
  mark makes the switch hold even when this replica's clock lags retention's, and is a no-op
  when identity switched first. No confirmation: retention does not wait for one.

A request naming an account or version identity never held is rejected permanently (it goes
to the dead-letter queue; retention's deadline raises the alert): retrying cannot create it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from identity.directives import forget_directives
from identity.domain import AccountStatus
from identity.records import (
    ACCOUNTS,
    LINKS,
    TERMS,
    TERMS_DECISIONS,
    THROTTLES,
    Context,
    account_subject,
    identifier_throttle,
    iso,
    put,
)
from identity.sessions import revoke_credentials
from identity.terms import terms_id
from shared.contracts.envelope import Envelope
from shared.contracts.identity import CredentialRevocationReason
from shared.contracts.retention import (
    AccountDeletedV1,
    AccountDeletionRequestedV1,
    ContactDataPurgedV1,
    ContactDataPurgeRequestedV1,
    TermsEffectiveV1,
)
from shared.messaging.consumer import PermanentFailure
from shared.store.port import VERSION, Document, Transaction

log = logging.getLogger(__name__)

RETENTION_ACTOR: Final = "service:retention"

# Everything that reaches or authenticates the person: gone with the contact data.
CONTACT_FIELDS: Final[Mapping[str, object]] = {
    "email": None,
    "mobile": None,
    "pending_email": None,
    "pending_email_until": None,
    "totp_secret": None,
    "totp_pending_secret": None,
    "totp_last_step": None,
    "totp_enabled_at": None,
    "recovery_codes": [],
}
# What a deleted account keeps besides its `*_at` dates: ids, role and statuses.
TOMBSTONE_FIELDS: Final = ("_id", VERSION, "role", "status", "declaration_id", "suspended")


class RetentionRequests:
    """The three requests retention sends identity; each runs in the caller's transaction."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def purge_contact_data(
        self, tx: Transaction, request: ContactDataPurgeRequestedV1, cause: Envelope
    ) -> None:
        """Forget the account's contact data and second factor, then confirm. An account
        already purged (or deleted) is confirmed again: retention may have asked twice."""
        account = await self._account(tx, request.account_id)
        now = self._ctx.clock.now()
        if not account.get("contact_data_purged_at"):
            await put(
                tx, ACCOUNTS, {**account, **CONTACT_FIELDS, "contact_data_purged_at": iso(now)}
            )
            await _delete_links(tx, request.account_id)
            await forget_directives(tx, request.account_id)
            log.info("contact data of account %s purged", request.account_id)
        await self._ctx.emit(
            tx,
            ContactDataPurgedV1(
                erasure_id=request.erasure_id, account_id=request.account_id, purged_at=now
            ),
            subject=account_subject(request.account_id),
            causation=cause,
        )

    async def delete_account(
        self, tx: Transaction, request: AccountDeletionRequestedV1, cause: Envelope
    ) -> None:
        """Turn the account into a tombstone, then confirm (again, if it already is one)."""
        account = await self._account(tx, request.account_id)
        if account.get("declaration_id") not in (None, request.declaration_id):
            raise PermanentFailure("account deletion names another declaration")
        now = self._ctx.clock.now()
        if account["status"] != AccountStatus.DELETED:
            # Every token issued so far is refused from now on (the revocation list). The
            # contract has no "deleted" reason yet: the deletion ends what termination began.
            account = await revoke_credentials(
                self._ctx,
                tx,
                account,
                CredentialRevocationReason.TERMINATION,
                RETENTION_ACTOR,
            )
            await put(tx, ACCOUNTS, tombstone(account, now))
            await _delete_links(tx, request.account_id)
            await forget_directives(tx, request.account_id)
            await tx.delete(
                THROTTLES, identifier_throttle(self._ctx.settings, account["identifier"])
            )
            await tx.delete(THROTTLES, f"reset-account:{request.account_id}")
            for decision in await tx.find(TERMS_DECISIONS, {"account_id": request.account_id}):
                await put(tx, TERMS_DECISIONS, {**decision, "ip": None, "user_agent": None})
            log.info("account %s deleted (tombstone kept)", request.account_id)
        await self._ctx.emit(
            tx,
            AccountDeletedV1(
                erasure_id=request.erasure_id, account_id=request.account_id, deleted_at=now
            ),
            subject=account_subject(request.account_id),
            causation=cause,
        )

    async def terms_effective(self, tx: Transaction, event: TermsEffectiveV1) -> None:
        """Mark the version in force (once); the next login of an account that has not
        accepted it gets only the CGU scope."""
        document = await tx.get(TERMS, terms_id(event.terms_version))
        if document is None:
            raise PermanentFailure("terms-effective names a CGU version identity never published")
        if document["content_hash"] != event.content_hash:
            raise PermanentFailure("terms-effective carries another text than the one published")
        if document.get("in_force_at"):
            return
        await put(tx, TERMS, {**document, "in_force_at": iso(self._ctx.clock.now())})
        log.info("CGU version %d in force", event.terms_version)

    async def _account(self, tx: Transaction, account_id: str) -> Document:
        account = await tx.get(ACCOUNTS, account_id)
        if account is None:
            raise PermanentFailure("retention request for an account identity never held")
        return account


def tombstone(account: Document, now: datetime) -> Document:
    """What a deleted account keeps: ids, role, statuses and dates. The login identifier is
    replaced by a value no typed identifier can match (normalized input is upper case) and
    that keeps the unique index satisfied."""
    kept: Document = {k: account[k] for k in TOMBSTONE_FIELDS if k in account}
    kept.update({k: v for k, v in account.items() if k.endswith("_at")})
    return {
        **kept,
        "identifier": f"deleted:{account['_id']}",
        "display_identifier": "",
        "status": AccountStatus.DELETED.value,
        "status_before_deletion": account["status"],
        "password_hash": None,
        **CONTACT_FIELDS,
        "deleted_at": iso(now),
    }


async def _delete_links(tx: Transaction, account_id: str) -> None:
    for link in await tx.find(LINKS, {"account_id": account_id}):
        await tx.delete(LINKS, link["_id"])
