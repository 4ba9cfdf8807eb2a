"""Operators' actions on an account: suspension (suspected compromise) and reinstatement,
revocation of every credential."""

from __future__ import annotations

from identity import errors
from identity.accounts.base import AccountCase
from identity.records import ACCOUNTS, THROTTLES, account_subject, identifier_throttle, put
from identity.sessions import revoke_credentials
from shared.contracts.identity import (
    AccountReinstatedV1,
    AccountSuspendedV1,
    CredentialRevocationReason,
)


class OperatorActions(AccountCase):
    """What an operator does to an account: suspend, reinstate, revoke its credentials."""

    async def suspend(self, account_id: str, reason: str, *, operator: str) -> None:
        ctx = self._ctx
        actor = f"operator:{operator}"
        async with ctx.outbox.transaction() as tx:
            account = await tx.get(ACCOUNTS, account_id)
            if account is None:
                raise errors.not_found("account")
            if account.get("suspended"):
                return
            account = await revoke_credentials(
                ctx, tx, account, CredentialRevocationReason.SUSPENSION, actor
            )
            await put(tx, ACCOUNTS, {**account, "suspended": True, "suspension_reason": reason})
            await ctx.emit(
                tx,
                AccountSuspendedV1(account_id=account_id, reason=reason),
                subject=account_subject(account_id),
                actor=actor,
            )

    async def reinstate(self, account_id: str, *, operator: str) -> None:
        ctx = self._ctx
        async with ctx.outbox.transaction() as tx:
            account = await tx.get(ACCOUNTS, account_id)
            if account is None:
                raise errors.not_found("account")
            if not account.get("suspended"):
                return
            await put(tx, ACCOUNTS, {**account, "suspended": False, "suspension_reason": None})
            await tx.delete(THROTTLES, identifier_throttle(ctx.settings, account["identifier"]))
            await ctx.emit(
                tx,
                AccountReinstatedV1(account_id=account_id),
                subject=account_subject(account_id),
                actor=f"operator:{operator}",
            )

    async def revoke_all_credentials(self, account_id: str, *, operator: str) -> None:
        ctx = self._ctx
        async with ctx.outbox.transaction() as tx:
            account = await tx.get(ACCOUNTS, account_id)
            if account is None:
                raise errors.not_found("account")
            account = await revoke_credentials(
                ctx, tx, account, CredentialRevocationReason.OPERATOR, f"operator:{operator}"
            )
            await put(tx, ACCOUNTS, account)
