"""Accounts never activated lapse (the rule and its legal basis: `domain.activation_lapses_at`).

A recipient account still pending activation whose last activation link expired longer ago than
the lapse delay is marked lapsed (no link is reissued from then on), its links go, and
`identity.account-activation-lapsed.v1` says so: consent ends the declaration (never active),
and retention, on consent's event, destroys the declaration, its proofs and this account (the
account's deletion is identity's confirmation of that erasure, `identity.retention`).

Accounts opened before the last link's expiry was recorded on the account are dated first
(`_date_older_accounts`). Run periodically by `shared.sweeps.sweep`: each account is marked at
the version read, so two replicas never lapse one account twice, and a backlog after downtime
is caught up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final

from identity.accounts import ACTIVATION, ACTIVATION_LAPSED, LAST_ACTIVATION_EXPIRY
from identity.domain import (
    AccountRole,
    AccountStatus,
    activation_lapse_cutoff,
    activation_lapses_at,
)
from identity.records import ACCOUNTS, LINKS, Context, account_subject, instant, iso, put
from shared.contracts.identity import AccountActivationLapsedV1
from shared.store.port import Document, VersionConflictError
from shared.sweeps import sweep

log = logging.getLogger(__name__)

LAPSE_BATCH: Final = 200


class ActivationLapses:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def lapse_due(self) -> int:
        """Lapse every account due now; returns how many lapsed."""
        ctx = self._ctx
        delay = ctx.settings.unactivated_expiry_days
        await self._date_older_accounts()

        async def due(now: datetime) -> list[Document]:
            cutoff = activation_lapse_cutoff(now, delay)
            return await ctx.store.find(
                ACCOUNTS,
                {
                    "role": AccountRole.RECIPIENT.value,
                    "status": AccountStatus.PENDING_ACTIVATION.value,
                    ACTIVATION_LAPSED: None,
                    LAST_ACTIVATION_EXPIRY: {"$lte": iso(cutoff)},
                },
                sort=[(LAST_ACTIVATION_EXPIRY, 1)],
                limit=LAPSE_BATCH,
            )

        async def process(account: Document, now: datetime) -> bool:
            return await self._lapse(account, now, delay)

        lapsed = await sweep(ctx.clock, due, process)
        if lapsed:
            log.info("%d accounts lapsed without activation", lapsed)
        return lapsed

    async def run(self) -> None:
        """The background job (`ServiceRuntime.every`)."""
        await self.lapse_due()

    async def _date_older_accounts(self) -> None:
        """Accounts opened before identity recorded the last link's expiry get it from their
        activation links; when none is left (the maintenance deletes a link
        `link_retention_days` after its expiry) the latest it can have been is that long ago."""
        ctx = self._ctx
        undated = await ctx.store.find(
            ACCOUNTS,
            {
                "role": AccountRole.RECIPIENT.value,
                "status": AccountStatus.PENDING_ACTIVATION.value,
                LAST_ACTIVATION_EXPIRY: None,
            },
            limit=LAPSE_BATCH,
        )
        for account in undated:
            links = await ctx.store.find(
                LINKS, {"account_id": account["_id"], "purpose": ACTIVATION}
            )
            expiries = [str(link["expires_at"]) for link in links if link.get("expires_at")]
            if expiries:
                last = max(expiries)
            else:
                retained = timedelta(days=ctx.settings.link_retention_days)
                last = iso(ctx.clock.now() - retained)
            try:
                async with ctx.outbox.transaction() as tx:
                    await put(tx, ACCOUNTS, {**account, LAST_ACTIVATION_EXPIRY: last})
            except VersionConflictError:
                continue  # activated or reissued meanwhile: dated by that, or not pending

    async def _lapse(self, account: Document, now: datetime, delay: int) -> bool:
        expired_at = instant(account.get(LAST_ACTIVATION_EXPIRY))
        declaration_id = account.get("declaration_id")
        if (
            expired_at is None
            or declaration_id is None
            or activation_lapses_at(expired_at, delay) > now
        ):
            return False  # not what the query selects: never lapsed by mistake
        ctx = self._ctx
        async with ctx.outbox.transaction() as tx:
            # At the version read: an activation or a reissued link in between wins.
            await put(tx, ACCOUNTS, {**account, ACTIVATION_LAPSED: iso(now)})
            for link in await tx.find(LINKS, {"account_id": account["_id"]}):
                await tx.delete(LINKS, link["_id"])
            await ctx.emit(
                tx,
                AccountActivationLapsedV1(
                    account_id=account["_id"],
                    declaration_id=declaration_id,
                    activation_expired_at=expired_at,
                    lapsed_at=now,
                ),
                subject=account_subject(account["_id"]),
            )
        log.info("account %s lapsed without activation", account["_id"])
        return True
