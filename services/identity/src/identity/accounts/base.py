"""What every account use case shares: its context, the check of a new password, the
account that may still be changed."""

from __future__ import annotations

from identity import errors
from identity.domain import AccountStatus, PasswordRejection
from identity.records import ACCOUNTS, Context
from shared.store.port import Document


def password_rejected(reason: PasswordRejection) -> errors.IdentityError:
    return errors.IdentityError(
        422,
        "password-rejected",
        {
            PasswordRejection.TOO_SHORT: "The password must have at least 12 characters.",
            PasswordRejection.TOO_LONG: "The password is too long.",
            PasswordRejection.IS_IDENTIFIER: "The password must not be the identifier.",
            PasswordRejection.COMMON: "This password is too common or too easy to guess.",
        }[reason],
        extra={"reason": reason.value},
    )


async def check_new_password(ctx: Context, password: str, account: Document) -> None:
    """Refuse a password too easy to guess, its account's identifier and contact data counted."""
    rejection = await ctx.passwords.check(
        password,
        identifier=account["display_identifier"],
        email=account.get("email"),
        mobile=account.get("mobile"),
    )
    if rejection is not None:
        raise password_rejected(rejection)


class AccountCase:
    """A group of account use cases on the service's one `Context`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def _writable(self, account_id: str) -> Document:
        account = await self._ctx.store.get(ACCOUNTS, account_id)
        if account is None:
            raise errors.not_found("account")
        if account["status"] in (AccountStatus.TERMINATED, AccountStatus.DELETED):
            raise errors.read_only()
        return account
