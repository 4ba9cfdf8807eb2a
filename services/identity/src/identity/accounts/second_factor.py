"""The second factor: TOTP enrolment confirmed by a first code, recovery codes, removal."""

from __future__ import annotations

from dataclasses import dataclass

from identity import errors, totp
from identity.accounts.base import AccountCase
from identity.records import ACCOUNTS, iso, put, sealed_totp
from identity.sealed import totp_object_id


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    provisioning_uri: str


class SecondFactor(AccountCase):
    async def enrol_totp(self, account_id: str) -> TotpEnrolment:
        """Start an enrolment: the secret is kept pending until a first code confirms it."""
        ctx = self._ctx
        account = await self._writable(account_id)
        secret = totp.new_secret()
        sealed = await ctx.sealer.seal(secret, totp_object_id(account_id))
        async with ctx.outbox.transaction() as tx:
            fresh = await tx.get(ACCOUNTS, account["_id"])
            assert fresh is not None
            await put(tx, ACCOUNTS, {**fresh, "totp_pending_secret": sealed})
        uri = totp.provisioning_uri(secret, account["display_identifier"], ctx.settings.totp_issuer)
        return TotpEnrolment(secret, uri)

    async def pending_totp_secret(self, account_id: str) -> str | None:
        """The secret of an enrolment waiting for its first code (to show it again)."""
        account = await self._ctx.store.get(ACCOUNTS, account_id)
        if account is None:
            return None
        return await self._ctx.sealer.open(
            account.get("totp_pending_secret"), totp_object_id(account_id)
        )

    async def confirm_totp(self, account_id: str, code: str) -> list[str]:
        """Enable TOTP with the first code; returns the recovery codes (shown once)."""
        ctx = self._ctx
        if not totp.is_code(code.strip()):
            raise errors.IdentityError(
                422, "totp-code-malformed", "The code is the 6 digits (0-9) the app shows."
            )
        await self._writable(account_id)
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            account = await tx.get(ACCOUNTS, account_id)
            assert account is not None
            account = await sealed_totp(ctx, account)
            sealed = account.get("totp_pending_secret")
            pending = await ctx.sealer.open(sealed, totp_object_id(account_id))
            step = totp.matching_step(pending, code, now) if pending else None
            if step is None:
                raise errors.IdentityError(
                    422, "invalid-second-factor", "The code does not match; try the next one."
                )
            codes = totp.new_recovery_codes()
            await put(
                tx,
                ACCOUNTS,
                {
                    **account,
                    "totp_secret": sealed,
                    "totp_pending_secret": None,
                    "totp_last_step": step,
                    "totp_enabled_at": iso(now),
                    "recovery_codes": [totp.recovery_hash(c) for c in codes],
                },
            )
        return codes

    async def disable_totp(self, account_id: str, password: str) -> None:
        ctx = self._ctx
        account = await self._writable(account_id)
        if not await ctx.passwords.verify(account.get("password_hash"), password):
            raise errors.IdentityError(
                403, "invalid-current-password", "The current password is wrong."
            )
        async with ctx.outbox.transaction() as tx:
            fresh = await tx.get(ACCOUNTS, account_id)
            assert fresh is not None
            await put(
                tx,
                ACCOUNTS,
                {
                    **fresh,
                    "totp_secret": None,
                    "totp_pending_secret": None,
                    "totp_last_step": None,
                    "totp_enabled_at": None,
                    "recovery_codes": [],
                },
            )
