"""The recipient's contacts: the notification e-mail and the mobile.

A new e-mail address is confirmed from that address: the holder asks (with their password, a
stolen session must not redirect the notices), identity keeps the address pending and issues a
single-use link (`accounts.EMAIL_CHANGE`), and `identity.email-change-requested.v1` has notify
e-mail it there, the link named by `link_id` only, as activation links are. Opening the link
makes the address the one notices go to, with `identity.email-changed.v1`: notify tells the
previous address, consent shows the new one to the offices, delivery addresses notices to it.
A new mobile takes effect at once (`identity.mobile-changed.v1`). Events carry the new value,
which their consumers need, and nothing else of the person.

The domicile is consent's (it needs a proof of address): `consent.domicile`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pydantic import EmailStr, TypeAdapter, ValidationError

from identity import errors
from identity.accounts import Accounts
from identity.accounts.links import EMAIL_CHANGE
from identity.accounts.password import _rate_window, _save_rate_window
from identity.domain import AccountRole, AccountStatus
from identity.records import ACCOUNTS, Context, account_subject, instant, iso, put
from shared.contracts.identity import EmailChangedV1, EmailChangeRequestedV1, MobileChangedV1
from shared.store.port import Document, VersionConflictError

log = logging.getLogger(__name__)

EMAIL_CHANGE_TTL: Final = timedelta(hours=24)
EMAIL_CHANGE_WINDOW: Final = timedelta(hours=1)
EMAIL_CHANGES_PER_HOUR: Final = 5
"""Confirmation e-mails an account may have sent in any hour (each goes to a typed address)."""

_EMAIL: Final = TypeAdapter(EmailStr)
_E164: Final = re.compile(r"^\+[1-9][0-9]{7,14}$")
_FRENCH_MOBILE: Final = re.compile(r"^0[67][0-9]{8}$")
_OVERSEAS_MOBILE: Final = {
    "0690": "590",  # Guadeloupe, Saint-Martin, Saint-Barthélemy
    "0691": "590",
    "0694": "594",  # Guyane
    "0696": "596",  # Martinique
    "0697": "596",
    "0692": "262",  # La Réunion
    "0693": "262",
    "0639": "262",  # Mayotte
}


@dataclass(frozen=True)
class ContactDetails:
    """Where the holder's notices go, and an address waiting for its confirmation."""

    email: str | None
    mobile: str | None
    pending_email: str | None
    pending_until: datetime | None


@dataclass(frozen=True)
class EmailChangeLink:
    """An e-mail change link that can still be used: the address it confirms, until when."""

    email: str
    expires_at: datetime


def normalized_email(typed: str) -> str:
    """The address as stored, or 422 `email-invalid`."""
    try:
        return str(_EMAIL.validate_python(typed.strip()))
    except ValidationError:
        raise errors.IdentityError(
            422, "email-invalid", "This is not a valid e-mail address."
        ) from None


def normalized_mobile(typed: str) -> str | None:
    """E.164 (`+33612345678`) from what a person types (`06 12 34 56 78`, `+33 6 12…`);
    empty: no mobile. 422 `mobile-invalid` otherwise."""
    compact = re.sub(r"[\s.\-()]", "", typed)
    if not compact:
        return None
    if _FRENCH_MOBILE.match(compact):
        # Overseas mobiles have their own country codes (0690 12… is +590 690 12…).
        code = _OVERSEAS_MOBILE.get(compact[:4], "33")
        compact = f"+{code}{compact[1:]}"
    elif compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _E164.match(compact):
        raise errors.IdentityError(
            422, "mobile-invalid", "This is not a mobile number (e.g. 06 12 34 56 78)."
        )
    return compact


class Contacts:
    def __init__(self, ctx: Context, accounts: Accounts) -> None:
        self._ctx = ctx
        self._accounts = accounts

    async def _recipient(self, account_id: str) -> Document:
        account = await self._ctx.store.get(ACCOUNTS, account_id)
        if account is None:
            raise errors.not_found("account")
        if account.get("role") != AccountRole.RECIPIENT.value:
            raise errors.IdentityError(
                403, "not-a-recipient", "Only a recipient's account has notification contacts."
            )
        if account["status"] != AccountStatus.ACTIVE.value:
            raise errors.read_only()
        return account

    async def details(self, account_id: str) -> ContactDetails:
        account = await self._ctx.store.get(ACCOUNTS, account_id)
        if account is None:
            raise errors.not_found("account")
        until = instant(account.get("pending_email_until"))
        pending = account.get("pending_email")
        if until is None or until <= self._ctx.clock.now():
            pending, until = None, None
        return ContactDetails(account.get("email"), account.get("mobile"), pending, until)

    async def request_email_change(self, account_id: str, typed: str, password: str) -> datetime:
        """Send a confirmation link to the new address; until it is opened, notices keep
        going to the current one. Returns when the link expires."""
        ctx = self._ctx
        email = normalized_email(typed)
        account = await self._recipient(account_id)
        if not await ctx.passwords.verify(account.get("password_hash"), password):
            raise errors.IdentityError(
                403, "invalid-current-password", "The current password is wrong."
            )
        if email.lower() == str(account.get("email") or "").lower():
            raise errors.IdentityError(
                409, "email-unchanged", "Notices already go to this address."
            )
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            sent, record = await _rate_window(tx, f"email-change:{account_id}")
            wait = sent.retry_after(now, EMAIL_CHANGES_PER_HOUR, EMAIL_CHANGE_WINDOW)
            if wait is not None:
                raise errors.IdentityError(
                    429,
                    "too-many-email-changes",
                    "Too many address changes asked; try again later.",
                    extra={"retry_after_seconds": wait},
                    headers={"Retry-After": str(wait)},
                )
            await _save_rate_window(tx, record, sent.record(now, EMAIL_CHANGE_WINDOW))
            fresh = await tx.get(ACCOUNTS, account_id)
            assert fresh is not None
            link = await self._accounts.issue_link(tx, account_id, EMAIL_CHANGE, EMAIL_CHANGE_TTL)
            await put(
                tx,
                ACCOUNTS,
                {**fresh, "pending_email": email, "pending_email_until": iso(link.expires_at)},
            )
            await ctx.emit(
                tx,
                EmailChangeRequestedV1(
                    account_id=account_id,
                    email=email,
                    link_id=link.link_id,
                    expires_at=link.expires_at,
                ),
                subject=account_subject(account_id),
                actor=account_subject(account_id),
            )
        return link.expires_at

    async def check_email_link(self, token: str) -> EmailChangeLink:
        """The address a link would confirm, without spending it (410 `link-invalid`)."""
        link, account = await self._accounts.valid_link(token, EMAIL_CHANGE)
        pending = account.get("pending_email")
        expires_at = instant(link.get("expires_at"))
        if not pending or expires_at is None or account["status"] != AccountStatus.ACTIVE.value:
            raise errors.invalid_link()
        return EmailChangeLink(str(pending), expires_at)

    async def confirm_email_change(self, token: str) -> str:
        """Spend the link: notices go to the new address from now on. Returns the account."""
        ctx = self._ctx
        now = ctx.clock.now()
        try:
            async with ctx.outbox.transaction() as tx:
                account = await self._accounts.spend_link(tx, token, EMAIL_CHANGE)
                pending = account.get("pending_email")
                if not pending or account["status"] != AccountStatus.ACTIVE.value:
                    raise errors.invalid_link()
                await put(
                    tx,
                    ACCOUNTS,
                    {
                        **account,
                        "email": pending,
                        "pending_email": None,
                        "pending_email_until": None,
                        "email_changed_at": iso(now),
                    },
                )
                await ctx.emit(
                    tx,
                    EmailChangedV1(
                        account_id=account["_id"],
                        declaration_id=account.get("declaration_id"),
                        email=pending,
                        changed_at=now,
                    ),
                    subject=account_subject(account["_id"]),
                    actor=account_subject(account["_id"]),
                )
        except VersionConflictError:
            raise errors.invalid_link() from None
        log.info("account %s: notification address changed", account["_id"])
        return str(account["_id"])

    async def change_mobile(self, account_id: str, typed: str) -> str | None:
        """SMS notices go to the new number (none, when empty) from now on."""
        ctx = self._ctx
        mobile = normalized_mobile(typed)
        await self._recipient(account_id)
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            account = await tx.get(ACCOUNTS, account_id)
            assert account is not None
            if account.get("mobile") == mobile:
                return mobile
            await put(tx, ACCOUNTS, {**account, "mobile": mobile, "mobile_changed_at": iso(now)})
            await ctx.emit(
                tx,
                MobileChangedV1(
                    account_id=account_id,
                    declaration_id=account.get("declaration_id"),
                    mobile=mobile,
                    changed_at=now,
                ),
                subject=account_subject(account_id),
                actor=account_subject(account_id),
            )
        return mobile
