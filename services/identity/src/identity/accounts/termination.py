"""Termination: the account read-only until retention closes it, every token revoked."""

from __future__ import annotations

from datetime import datetime

from identity import errors
from identity.accounts.base import AccountCase
from identity.domain import AccountStatus, readable_until
from identity.records import ACCOUNTS, Context, account_subject, iso, put
from identity.sessions import revoke_credentials
from shared.contracts.identity import (
    AccountRole,
    AccountTerminatedV1,
    CredentialRevocationReason,
    TerminationReason,
)
from shared.store.port import Document, Transaction


class Termination(AccountCase):
    async def terminate(self, account_id: str) -> datetime:
        """The holder terminates: read-only until retention closes the account; every
        current token dies so that the next ones carry read-only scopes."""
        ctx = self._ctx
        async with ctx.outbox.transaction() as tx:
            account = await tx.get(ACCOUNTS, account_id)
            if account is None:
                raise errors.not_found("account")
            if account["role"] != AccountRole.RECIPIENT:
                raise errors.IdentityError(
                    403, "not-a-recipient", "Only a recipient account can be terminated."
                )
            if account["status"] in (AccountStatus.TERMINATED, AccountStatus.DELETED):
                raise errors.IdentityError(
                    409, "already-terminated", "The account is already terminated."
                )
            return await terminate_in(ctx, tx, account, TerminationReason.RECIPIENT_REQUEST)


async def terminate_in(
    ctx: Context, tx: Transaction, account: Document, reason: TerminationReason
) -> datetime:
    now = ctx.clock.now()
    actor = account_subject(account["_id"])
    account = await revoke_credentials(
        ctx, tx, account, CredentialRevocationReason.TERMINATION, actor
    )
    await put(
        tx,
        ACCOUNTS,
        {
            **account,
            "status": AccountStatus.TERMINATED.value,
            "terminated_at": iso(now),
            "termination_reason": reason.value,
            # CGU §12: read-only until 24:00 of the last day, when retention erases the acts.
            "readable_until": iso(readable_until(now, ctx.settings.termination_readable_months)),
        },
    )
    await ctx.emit(
        tx,
        AccountTerminatedV1(
            account_id=account["_id"],
            declaration_id=account.get("declaration_id"),
            terminated_at=now,
            reason=reason,
        ),
        subject=actor,
        actor=actor,
    )
    return now
