"""Accounts: one module per use case (opening, links, activation, passwords, second factor,
termination, operators' actions), all on one `Context`; `Accounts` offers them together."""

from __future__ import annotations

from typing_extensions import TypedDict  # pydantic reads it on Python < 3.12

from identity import errors
from identity.accounts.activation import ActivatedAccount, Activation
from identity.accounts.base import password_rejected
from identity.accounts.compromise import CompromiseReport, CompromiseReports
from identity.accounts.links import (
    ACTIVATION,
    ACTIVATION_LAPSED,
    EMAIL_CHANGE,
    EMAIL_CHANGE_PATH,
    LAST_ACTIVATION_EXPIRY,
    RESET,
    DeliverableLink,
    LinkCheck,
    Links,
)
from identity.accounts.opening import Opening
from identity.accounts.password import PasswordChanges
from identity.accounts.second_factor import SecondFactor, TotpEnrolment
from identity.accounts.suspension import OperatorActions
from identity.accounts.termination import Termination, terminate_in
from identity.records import ACCOUNTS

__all__ = [
    "ACTIVATION",
    "ACTIVATION_LAPSED",
    "EMAIL_CHANGE",
    "EMAIL_CHANGE_PATH",
    "LAST_ACTIVATION_EXPIRY",
    "RESET",
    "AccountProfile",
    "Accounts",
    "ActivatedAccount",
    "CompromiseReport",
    "DeliverableLink",
    "LinkCheck",
    "TotpEnrolment",
    "password_rejected",
    "terminate_in",
]


class AccountProfile(TypedDict):
    """What the holder sees of their account (`GET /v1/me`, the portal's account page)."""

    account_id: str
    identifier: str
    role: str
    status: str
    suspended: bool
    email: str | None
    totp_enabled: bool
    recovery_codes_left: int
    accepted_terms_version: int | None
    terminated_at: str | None


class Accounts(
    Opening,
    Activation,
    PasswordChanges,
    Links,
    SecondFactor,
    Termination,
    OperatorActions,
    CompromiseReports,
):
    """Every account use case, on one `Context`."""

    async def profile(self, account_id: str) -> AccountProfile:
        account = await self._ctx.store.get(ACCOUNTS, account_id)
        if account is None:
            raise errors.not_found("account")
        return AccountProfile(
            account_id=account["_id"],
            identifier=account["display_identifier"],
            role=account["role"],
            status=account["status"],
            suspended=bool(account.get("suspended")),
            email=account.get("email"),
            totp_enabled=bool(account.get("totp_secret")),
            recovery_codes_left=len(account.get("recovery_codes", [])),
            accepted_terms_version=account.get("accepted_terms_version"),
            terminated_at=account.get("terminated_at"),
        )
