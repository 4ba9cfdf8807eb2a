"""Compromised credentials reported by their holder: every session and token dies at once,
the report is journaled and operators alerted (CGU §7.1: the imputation clause rests on it)."""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import BaseModel

from identity import errors
from identity.accounts.base import AccountCase
from identity.records import (
    ACCOUNTS,
    COMPROMISE_REPORTS,
    SESSIONS,
    account_subject,
    iso,
    put,
)
from identity.sessions import revoke_credentials
from shared.contracts.identity import CompromiseReportedV1, CredentialRevocationReason
from shared.ids import new_id
from shared.store.port import from_iso

log = logging.getLogger(__name__)


class CompromiseReport(BaseModel):
    """A report as the holder and operators see it."""

    report_id: str
    account_id: str
    reported_at: datetime
    sessions_revoked: int


class CompromiseReports(AccountCase):
    async def report_compromise(self, account_id: str) -> CompromiseReport:
        """Revoke every session and token of the account now (whatever its status: a
        terminated account's read-only access is a credential too), record the report and
        emit it with the revocation, in one transaction."""
        ctx = self._ctx
        now = ctx.clock.now()
        actor = account_subject(account_id)
        async with ctx.outbox.transaction() as tx:
            account = await tx.get(ACCOUNTS, account_id)
            if account is None:
                raise errors.not_found("account")
            live = await tx.find(SESSIONS, {"account_id": account_id, "revoked_at": None})
            account = await revoke_credentials(
                ctx, tx, account, CredentialRevocationReason.COMPROMISE_REPORTED, actor
            )
            await put(tx, ACCOUNTS, account)
            report = CompromiseReport(
                report_id=new_id(now),
                account_id=account_id,
                reported_at=now,
                sessions_revoked=len(live),
            )
            await tx.insert(
                COMPROMISE_REPORTS,
                {
                    "_id": report.report_id,
                    "account_id": account_id,
                    "reported_at": iso(now),
                    "sessions_revoked": report.sessions_revoked,
                },
            )
            await ctx.emit(
                tx,
                CompromiseReportedV1(
                    account_id=account_id,
                    report_id=report.report_id,
                    sessions_revoked=report.sessions_revoked,
                ),
                subject=actor,
                actor=actor,
            )
        # The operators' alert: monitoring watches WARNINGs; the event is journaled by audit.
        log.warning(
            "compromised credentials reported: every session revoked",
            extra={"account_id": account_id, "report_id": report.report_id},
        )
        return report

    async def compromise_reports(self, limit: int = 100) -> list[CompromiseReport]:
        """The most recent reports first, for operators."""
        rows = await self._ctx.store.find(
            COMPROMISE_REPORTS, {}, sort=[("reported_at", -1)], limit=limit
        )
        return [
            CompromiseReport(
                report_id=row["_id"],
                account_id=row["account_id"],
                reported_at=from_iso(row["reported_at"]),
                sessions_revoked=row["sessions_revoked"],
            )
            for row in rows
        ]
