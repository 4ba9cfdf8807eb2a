"""Passwords: reset by an e-mailed link, change by the holder."""

from __future__ import annotations

import logging
from datetime import timedelta

from identity import errors
from identity.accounts.base import check_new_password
from identity.accounts.links import RESET, Links
from identity.domain import RateWindow, ip_hash, normalize_identifier
from identity.records import (
    ACCOUNTS,
    THROTTLES,
    account_subject,
    identifier_throttle,
    instant,
    iso,
    put,
)
from identity.sessions import revoke_credentials
from shared.contracts.identity import CredentialRevocationReason, PasswordResetRequestedV2
from shared.store.port import Document, DocumentReader, Transaction, VersionConflictError

log = logging.getLogger(__name__)


RESET_WINDOW = timedelta(hours=1)


class PasswordChanges(Links):
    """Reset by e-mailed link (throttled per address and per account), change when signed in."""

    async def request_password_reset(self, identifier: str, *, ip: str) -> None:
        """E-mail a reset link if the identifier names an activated account; silent otherwise
        (the answer must not tell whether an identifier exists).

        Throttled twice, on rolling hours: an address making too many requests is refused
        (429, whatever the identifiers it types, so the refusal says nothing about accounts);
        an account receives at most `reset_emails_per_account_per_hour` e-mails, and further
        requests get the same silent answer as an unknown identifier."""
        ctx = self._ctx
        settings = ctx.settings
        now = ctx.clock.now()
        iph = ip_hash(ip, settings.ip_hash_pepper.get_secret_value().encode())
        async with ctx.outbox.transaction() as tx:
            ip_window, ip_record = await _rate_window(tx, f"reset-ip:{iph}")
            wait = ip_window.retry_after(now, settings.reset_requests_per_ip_per_hour, RESET_WINDOW)
            if wait is not None:
                raise errors.IdentityError(
                    429,
                    "too-many-reset-requests",
                    "Too many reset requests from this address; try again later.",
                    extra={"retry_after_seconds": wait},
                    headers={"Retry-After": str(wait)},
                )
            await _save_rate_window(tx, ip_record, ip_window.record(now, RESET_WINDOW))
            found = await tx.find(
                ACCOUNTS, {"identifier": normalize_identifier(identifier)}, limit=1
            )
            if not found or not found[0].get("password_hash") or not found[0].get("email"):
                return
            account = found[0]
            sent, sent_record = await _rate_window(tx, f"reset-account:{account['_id']}")
            if (
                sent.retry_after(now, settings.reset_emails_per_account_per_hour, RESET_WINDOW)
                is not None
            ):
                log.info("reset e-mail to account %s withheld: hourly limit", account["_id"])
                return
            await _save_rate_window(tx, sent_record, sent.record(now, RESET_WINDOW))
            ttl = timedelta(minutes=settings.reset_link_ttl_minutes)
            link = await self._new_link(tx, account["_id"], RESET, ttl)
            await ctx.emit(
                tx,
                PasswordResetRequestedV2(
                    account_id=account["_id"],
                    email=account["email"],
                    link_id=link.link_id,
                    expires_at=link.expires_at,
                ),
                subject=account_subject(account["_id"]),
            )

    async def complete_password_reset(self, token: str, password: str) -> None:
        """Spend the reset link, set the password, kill every session (they may be the
        attacker's), and lift the lockout."""
        ctx = self._ctx
        _, account = await self._valid_link(ctx.store, token, RESET)
        await check_new_password(ctx, password, account)
        password_hash = await ctx.passwords.hash(password)
        try:
            async with ctx.outbox.transaction() as tx:
                account = await self._spend_link(tx, token, RESET)
                account = await revoke_credentials(
                    ctx,
                    tx,
                    account,
                    CredentialRevocationReason.PASSWORD_RESET,
                    account_subject(account["_id"]),
                )
                await put(tx, ACCOUNTS, {**account, "password_hash": password_hash})
                await tx.delete(THROTTLES, identifier_throttle(ctx.settings, account["identifier"]))
        except VersionConflictError:
            raise errors.invalid_link() from None

    async def change_password(self, account_id: str, current: str, new: str) -> None:
        ctx = self._ctx
        account = await self._writable(account_id)
        if not await ctx.passwords.verify(account.get("password_hash"), current):
            raise errors.IdentityError(
                403, "invalid-current-password", "The current password is wrong."
            )
        await check_new_password(ctx, new, account)
        password_hash = await ctx.passwords.hash(new)
        async with ctx.outbox.transaction() as tx:
            fresh = await tx.get(ACCOUNTS, account_id)
            assert fresh is not None
            await put(tx, ACCOUNTS, {**fresh, "password_hash": password_hash})


async def _rate_window(reader: DocumentReader, key: str) -> tuple[RateWindow, Document]:
    document = await reader.get(THROTTLES, key) or {"_id": key}
    moments = (instant(value) for value in document.get("at", []))
    return RateWindow(tuple(m for m in moments if m is not None)), document


async def _save_rate_window(tx: Transaction, document: Document, window: RateWindow) -> None:
    await put(
        tx,
        THROTTLES,
        {
            **document,
            "kind": "rate",
            "at": [iso(moment) for moment in window.at],
            "forget_at": iso(window.forget_at(RESET_WINDOW)),
        },
    )
