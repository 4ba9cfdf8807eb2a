"""Login: identifier, password, second factor; throttled per address and per identifier,
failures journaled per window."""

from __future__ import annotations

import logging
from datetime import timedelta

from identity import errors, totp
from identity.attempts import Attempt
from identity.domain import ip_hash, normalize_identifier
from identity.records import (
    ACCOUNTS,
    SESSIONS,
    THROTTLES,
    account_subject,
    identifier_throttle,
    iso,
    put,
    sealed_totp,
)
from identity.sealed import totp_object_id
from identity.sessions.access import has_refused_terms
from identity.sessions.issuing import SessionCase, SessionTokens
from identity.throttling import Reservation
from shared.contracts.identity import IdentificationOutcome
from shared.ids import new_id
from shared.store.port import Document

log = logging.getLogger(__name__)


class Login(SessionCase):
    async def login(
        self, identifier: str, password: str, *, ip: str, second_factor: str | None = None
    ) -> SessionTokens:
        """Identify with identifier + password (+ TOTP or recovery code when enrolled).

        Each attempt is counted as a failure of its address and of the identifier typed before
        the password is checked (`Throttles.reserve`), so concurrent guesses cannot all pass a
        counter none of them has incremented yet. A right password then takes the count back:
        a session opened clears the identifier's failures; a right password refused for
        another reason (suspension, second factor missing, CGU refused) refunds the attempt.
        Failures are journaled per window (`attempts`), a session opened by itself."""
        ctx = self._ctx
        settings = ctx.settings
        iph = ip_hash(ip, settings.ip_hash_pepper.get_secret_value().encode())
        ip_key = f"ip:{iph}"
        identifier_key = identifier_throttle(settings, identifier)
        matches = await ctx.store.find(
            ACCOUNTS, {"identifier": normalize_identifier(identifier)}, limit=1
        )
        account = matches[0] if matches else None
        reservation = await self._throttles.reserve(
            (
                (ip_key, settings.throttle_ip_free_failures),
                (identifier_key, settings.throttle_free_failures),
            )
        )
        if reservation.retry_after is not None:
            # Journaled on the identifier when it is locked, else on the address: an address
            # trying many identifiers fills one window, not one per identifier.
            locked_key = identifier_key if identifier_key in reservation.locked else ip_key
            await self._settle(locked_key, account, IdentificationOutcome.THROTTLED, iph)
            raise errors.throttled(reservation.retry_after)

        verified = await ctx.passwords.verify(
            account.get("password_hash") if account else None, password
        )
        if not verified or account is None:
            # The reservation is the failure.
            await self._settle(identifier_key, account, IdentificationOutcome.FAILED, iph)
            raise errors.invalid_credentials()
        if account.get("suspended"):
            await self._settle(
                identifier_key,
                account,
                IdentificationOutcome.SUSPENDED,
                iph,
                refund=reservation,
            )
            raise errors.IdentityError(
                403, "account-suspended", "The account is suspended; contact the support."
            )
        used_second_factor = False
        stored_secret = account.get("totp_secret")
        if stored_secret:
            if not second_factor:
                await self._settle(
                    identifier_key,
                    account,
                    IdentificationOutcome.SECOND_FACTOR_REQUIRED,
                    iph,
                    refund=reservation,
                )
                raise errors.IdentityError(
                    401, "second-factor-required", "Enter the code of your authenticator app."
                )
            secret = await ctx.sealer.open(stored_secret, totp_object_id(account["_id"]))
            updated = totp.consume(account, secret or "", second_factor, ctx.clock.now())
            if updated is None:
                # A wrong code counts as a failure too: the reservation stands.
                await self._settle(
                    identifier_key,
                    account,
                    IdentificationOutcome.FAILED,
                    iph,
                    second_factor=True,
                )
                raise errors.IdentityError(
                    401, "invalid-second-factor", "The code is wrong or already used."
                )
            account = updated
            used_second_factor = True
        if has_refused_terms(account):
            # The right credentials, but the refusal is final: no session at all. Journaled as
            # a failed identification (no access was given; the contract has no finer outcome).
            await self._settle(
                identifier_key, account, IdentificationOutcome.FAILED, iph, refund=reservation
            )
            raise errors.terms_refused(403)
        return await self._open_session(account, iph, used_second_factor, reservation)

    async def _settle(
        self,
        key: str,
        account: Document | None,
        outcome: IdentificationOutcome,
        iph: str,
        *,
        second_factor: bool = False,
        refund: Reservation | None = None,
    ) -> None:
        """Journal the failed attempt's outcome on `key`'s window, refunding its reservation
        when the password was right (the attempt was not a failure)."""
        attempt = Attempt(
            outcome,
            iph,
            account_id=account["_id"] if account else None,
            second_factor=second_factor,
        )
        await self._journal.settle(key, attempt, refund=refund)

    async def _open_session(
        self, account: Document, iph: str, second_factor: bool, reservation: Reservation
    ) -> SessionTokens:
        """Open the session; the identifier's failures are cleared with it, and the address
        gets this attempt back (afterwards: a contended address counter must not fail the
        login; at worst a crash leaves it one failure too many)."""
        tokens = await self._new_session(account, iph, second_factor)
        identifier_key = identifier_throttle(self._ctx.settings, account["identifier"])
        await self._throttles.refund(
            reservation, [k for k in reservation.previous if k != identifier_key]
        )
        return tokens

    async def _new_session(self, account: Document, iph: str, second_factor: bool) -> SessionTokens:
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            fresh = await tx.get(ACCOUNTS, account["_id"])
            assert fresh is not None
            if second_factor:
                fresh = {
                    **fresh,
                    "totp_last_step": account.get("totp_last_step"),
                    "recovery_codes": account.get("recovery_codes", []),
                }
            # Migration on read: a TOTP secret stored before sealing is sealed now.
            fresh = await sealed_totp(ctx, fresh)
            if ctx.passwords.needs_rehash(fresh["password_hash"]):
                log.info("password hash of %s is due for the current cost", fresh["_id"])
            await put(tx, ACCOUNTS, {**fresh, "last_login_at": iso(now)})
            # Success resets the failures of the identifier.
            identifier_key = identifier_throttle(ctx.settings, fresh["identifier"])
            await tx.delete(THROTTLES, identifier_key)
            session_id = new_id(now)
            session_end = now + timedelta(hours=ctx.settings.session_ttl_hours)
            await tx.insert(
                SESSIONS,
                {
                    "_id": session_id,
                    "account_id": fresh["_id"],
                    "created_at": iso(now),
                    "expires_at": iso(session_end),
                    "revoked_at": None,
                    "second_factor": second_factor,
                },
            )
            tokens = await self._issue(tx, fresh, session_id, session_end)
            await self._journal.succeeded(
                tx,
                identifier_key,
                Attempt(
                    IdentificationOutcome.SUCCEEDED,
                    iph,
                    account_id=fresh["_id"],
                    second_factor=second_factor,
                ),
                actor=account_subject(fresh["_id"]),
            )
        return tokens
