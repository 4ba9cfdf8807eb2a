"""Activation: the e-mailed link spent and the first password chosen."""

from __future__ import annotations

from dataclasses import dataclass

from identity import errors
from identity.accounts.base import check_new_password
from identity.accounts.links import ACTIVATION, Links
from identity.domain import AccountStatus
from identity.notices import issue_notice
from identity.records import ACCOUNTS, TERMS, iso, put
from shared.store.port import VersionConflictError


@dataclass(frozen=True)
class ActivatedAccount:
    account_id: str
    identifier: str


class Activation(Links):
    async def activate(self, token: str, password: str) -> ActivatedAccount:
        """Spend the activation link and set the first password."""
        ctx = self._ctx
        _, account = await self._valid_link(ctx.store, token, ACTIVATION)
        if account["status"] != AccountStatus.PENDING_ACTIVATION:
            raise errors.invalid_link()
        await check_new_password(ctx, password, account)
        password_hash = await ctx.passwords.hash(password)
        now = ctx.clock.now()
        try:
            async with ctx.outbox.transaction() as tx:
                account = await self._spend_link(tx, token, ACTIVATION)
                if account["status"] != AccountStatus.PENDING_ACTIVATION:
                    raise errors.invalid_link()
                activated = {
                    **account,
                    "status": AccountStatus.ACTIVE.value,
                    "password_hash": password_hash,
                    "activated_at": iso(now),
                }
                await put(tx, ACCOUNTS, activated)
                # A version published before this activation and not yet in force: the
                # publication's fan-out only warned the accounts active then.
                upcoming = await tx.find(
                    TERMS, {"effective_at": {"$gt": iso(now)}}, sort=[("version", 1)]
                )
                for version in upcoming:
                    if version["published_at"] < iso(now):
                        await issue_notice(ctx, tx, activated, version, actor="service:identity")
        except VersionConflictError:
            raise errors.invalid_link() from None
        return ActivatedAccount(account["_id"], account["display_identifier"])
