"""Accounts: creation from a consent declaration, activation and reset links, passwords, TOTP,
termination, and the operator's actions on accounts (issue 4 items 1, 2, 4, 6, 7, 8)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from identity import errors, totp
from identity.domain import (
    AccountStatus,
    PasswordRejection,
    RateWindow,
    hash_secret,
    ip_hash,
    new_identifier,
    new_link_token,
    normalize_identifier,
    readable_until,
)
from identity.notices import issue_notice
from identity.records import (
    ACCOUNTS,
    LINKS,
    TERMS,
    THROTTLES,
    Context,
    account_subject,
    identifier_throttle,
    instant,
    iso,
    put,
    sealed_totp,
)
from identity.sealed import link_object_id, totp_object_id
from identity.sessions import revoke_credentials
from shared.contracts.consent import DeclarationRegisteredV1
from shared.contracts.envelope import Envelope
from shared.contracts.identity import (
    AccountCreatedV1,
    AccountReinstatedV1,
    AccountRole,
    AccountSuspendedV1,
    AccountTerminatedV1,
    ActivationLinkIssuedV2,
    CredentialRevocationReason,
    PasswordResetRequestedV2,
    TerminationReason,
)
from shared.ids import new_id
from shared.store.port import (
    Document,
    DocumentReader,
    DuplicateKeyError,
    Transaction,
    VersionConflictError,
)

log = logging.getLogger(__name__)

ACTIVATION = "activation"
RESET = "reset"
LINK_PURPOSES = frozenset({ACTIVATION, RESET})
RESET_WINDOW = timedelta(hours=1)
ACTIVATION_PATH = "/activation"
RESET_PATH = "/reinitialisation"
# Account fields of the lapse rule: the last activation link's expiry, and when it lapsed.
LAST_ACTIVATION_EXPIRY = "activation_link_expires_at"
ACTIVATION_LAPSED = "activation_lapsed_at"


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


async def _check_new_password(ctx: Context, password: str, account: Document) -> None:
    """Refuse a password too easy to guess, its account's identifier and contact data counted."""
    rejection = await ctx.passwords.check(
        password,
        identifier=account["display_identifier"],
        email=account.get("email"),
        mobile=account.get("mobile"),
    )
    if rejection is not None:
        raise password_rejected(rejection)


@dataclass(frozen=True)
class ActivatedAccount:
    account_id: str
    identifier: str


@dataclass(frozen=True)
class LinkCheck:
    """A link that can still be used: what for, and until when."""

    purpose: str
    expires_at: datetime


@dataclass(frozen=True)
class IssuedLink:
    """A link just issued: its token (for the sealed copy only, never for an event), the
    reference events carry instead, and its expiry."""

    token: str
    link_id: str
    expires_at: datetime


@dataclass(frozen=True)
class DeliverableLink:
    """What notify gets from identity's internal API to e-mail a link."""

    link_id: str
    purpose: str
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    provisioning_uri: str


class Accounts:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # -- creation ----------------------------------------------------------------------------

    async def open_for_declaration(
        self, tx: Transaction, declaration: DeclarationRegisteredV1, cause: Envelope
    ) -> str | None:
        """Open the recipient account of a declaration (once) and issue its activation link.

        Runs in the consumer's inbox transaction; returns the new account id, or None when the
        declaration already has an account (a second event for the same declaration)."""
        ctx = self._ctx
        if await tx.find(ACCOUNTS, {"declaration_id": declaration.declaration_id}, limit=1):
            log.info("declaration %s already has an account", declaration.declaration_id)
            return None
        now = ctx.clock.now()
        account_id = new_id(now)
        identifier = await self._free_identifier(tx)
        account: Document = {
            "_id": account_id,
            "identifier": normalize_identifier(identifier),
            "display_identifier": identifier,
            "role": AccountRole.RECIPIENT.value,
            "status": AccountStatus.PENDING_ACTIVATION.value,
            "declaration_id": declaration.declaration_id,
            "person_kind": declaration.person_kind.value,
            "email": str(declaration.email),
            "mobile": declaration.mobile,
            "password_hash": None,
            "suspended": False,
            "accepted_terms_version": None,
            "created_at": iso(now),
        }
        await tx.insert(ACCOUNTS, account)
        await ctx.emit(
            tx,
            AccountCreatedV1(
                account_id=account_id,
                role=AccountRole.RECIPIENT,
                declaration_id=declaration.declaration_id,
                person_kind=declaration.person_kind.value,
            ),
            subject=account_subject(account_id),
            causation=cause,
        )
        await self._issue_activation(tx, account, causation=cause)
        return account_id

    async def _free_identifier(self, tx: Transaction) -> str:
        while True:
            identifier = new_identifier()
            if not await tx.find(
                ACCOUNTS, {"identifier": normalize_identifier(identifier)}, limit=1
            ):
                return identifier

    async def create_operator(self, identifier: str, password: str) -> str:
        """An operator account (CLI and dev seeding): active at once, no CGU to accept."""
        ctx = self._ctx
        rejection = await ctx.passwords.check(password, identifier=identifier)
        if rejection is not None:
            raise password_rejected(rejection)
        normalized = normalize_identifier(identifier)
        if not normalized:
            raise errors.IdentityError(422, "identifier-invalid", "The identifier is empty.")
        password_hash = await ctx.passwords.hash(password)
        now = ctx.clock.now()
        account_id = new_id(now)
        try:
            async with ctx.outbox.transaction() as tx:
                await tx.insert(
                    ACCOUNTS,
                    {
                        "_id": account_id,
                        "identifier": normalized,
                        "display_identifier": identifier.strip(),
                        "role": AccountRole.OPERATOR.value,
                        "status": AccountStatus.ACTIVE.value,
                        "password_hash": password_hash,
                        "suspended": False,
                        "created_at": iso(now),
                        "activated_at": iso(now),
                    },
                )
                await ctx.emit(
                    tx,
                    AccountCreatedV1(account_id=account_id, role=AccountRole.OPERATOR),
                    subject=account_subject(account_id),
                )
        except DuplicateKeyError:
            raise errors.IdentityError(
                409, "identifier-taken", "An account already uses this identifier."
            ) from None
        return account_id

    # -- links -------------------------------------------------------------------------------

    async def _new_link(
        self, tx: Transaction, account_id: str, purpose: str, ttl: timedelta
    ) -> IssuedLink:
        """A fresh single-use link; every earlier unused link of that purpose stops working.

        The store keeps the token's hash (what verification looks up) and, until the link is
        used, replaced or expired, the token itself sealed under the KEK: notify fetches the
        link by `link_id` when it sends the e-mail (`deliverable_link`), so that no event, and
        therefore no journal, ever carries it."""
        ctx = self._ctx
        now = ctx.clock.now()
        for old in await tx.find(
            LINKS, {"account_id": account_id, "purpose": purpose, "used_at": None}
        ):
            if not old.get("superseded_at"):
                await put(tx, LINKS, {**old, **_TOKEN_DROPPED, "superseded_at": iso(now)})
        token = new_link_token()
        link_id = new_id(now)
        expires_at = now + ttl
        await tx.insert(
            LINKS,
            {
                "_id": hash_secret(token),
                "link_id": link_id,
                "account_id": account_id,
                "purpose": purpose,
                "created_at": iso(now),
                "expires_at": iso(expires_at),
                "used_at": None,
                "superseded_at": None,
                "sealed_token": await ctx.sealer.seal(token, link_object_id(link_id)),
                "token_kept": True,
            },
        )
        return IssuedLink(token, link_id, expires_at)

    def _url(self, purpose: str, token: str) -> str:
        path = ACTIVATION_PATH if purpose == ACTIVATION else RESET_PATH
        return f"{self._ctx.settings.issuer}{path}?{urlencode({'token': token})}"

    async def deliverable_link(self, link_id: str) -> DeliverableLink:
        """The link `link_id` names, for notify to e-mail it, while it can still be used: 404
        `link-not-found` for an unknown reference, 410 `link-invalid` once it was used,
        replaced or expired (its sealed token is gone or about to be)."""
        ctx = self._ctx
        found = await ctx.store.find(LINKS, {"link_id": link_id}, limit=1)
        if not found:
            raise errors.not_found("link")
        link = found[0]
        expires_at = instant(link.get("expires_at"))
        if (
            link.get("used_at")
            or link.get("superseded_at")
            or expires_at is None
            or expires_at <= ctx.clock.now()
            or not link.get("sealed_token")
        ):
            raise errors.invalid_link()
        if link["purpose"] == ACTIVATION:
            account = await ctx.store.get(ACCOUNTS, link["account_id"])
            if account is None or account["status"] != AccountStatus.PENDING_ACTIVATION:
                raise errors.invalid_link()
        token = await ctx.sealer.open(link["sealed_token"], link_object_id(link_id))
        if token is None or hash_secret(token) != link["_id"]:
            raise errors.invalid_link()
        return DeliverableLink(
            link_id, link["purpose"], self._url(link["purpose"], token), expires_at
        )

    async def _issue_activation(
        self,
        tx: Transaction,
        account: Document,
        *,
        causation: Envelope | None = None,
        actor: str = "service:identity",
    ) -> None:
        ctx = self._ctx
        ttl = timedelta(hours=ctx.settings.activation_link_ttl_hours)
        link = await self._new_link(tx, account["_id"], ACTIVATION, ttl)
        # The last link's expiry starts the account's lapse delay (`identity.lapses`).
        fresh = await tx.get(ACCOUNTS, account["_id"])
        assert fresh is not None
        await put(tx, ACCOUNTS, {**fresh, LAST_ACTIVATION_EXPIRY: iso(link.expires_at)})
        await ctx.emit(
            tx,
            ActivationLinkIssuedV2(
                account_id=account["_id"],
                email=account["email"],
                identifier=account["display_identifier"],
                link_id=link.link_id,
                expires_at=link.expires_at,
            ),
            subject=account_subject(account["_id"]),
            causation=causation,
            actor=actor,
        )

    async def reissue_activation_link(self, account_id: str, *, actor: str) -> None:
        """A new activation link (the previous one stops working), e.g. after expiry."""
        ctx = self._ctx
        async with ctx.outbox.transaction() as tx:
            account = await tx.get(ACCOUNTS, account_id)
            if account is None:
                raise errors.not_found("account")
            if account["status"] != AccountStatus.PENDING_ACTIVATION:
                raise errors.IdentityError(
                    409, "already-activated", "The account is already activated."
                )
            if account.get(ACTIVATION_LAPSED):
                # Past the lapse delay the declaration and the account are being destroyed.
                raise errors.IdentityError(
                    409, "activation-lapsed", "The account lapsed without being activated."
                )
            if not account.get("email"):
                # Retention purged the contact data: there is nowhere to send a link.
                raise errors.IdentityError(
                    409, "no-contact-data", "The account no longer has an e-mail address."
                )
            await self._issue_activation(tx, account, actor=actor)

    async def _valid_link(
        self, reader: DocumentReader, token: str, purpose: str
    ) -> tuple[Document, Document]:
        """The link and its account if the link can still be used; `link-invalid` otherwise."""
        now = self._ctx.clock.now()
        link = await reader.get(LINKS, hash_secret(token))
        expires = instant(link["expires_at"]) if link else None
        if (
            link is None
            or link["purpose"] != purpose
            or link.get("used_at")
            or link.get("superseded_at")
            or expires is None
            or expires <= now
        ):
            raise errors.invalid_link()
        account = await reader.get(ACCOUNTS, link["account_id"])
        if account is None:
            raise errors.invalid_link()
        return link, account

    async def _spend_link(self, tx: Transaction, token: str, purpose: str) -> Document:
        """Check the link again inside `tx` and mark it used; returns its account."""
        link, account = await self._valid_link(tx, token, purpose)
        await put(tx, LINKS, {**link, **_TOKEN_DROPPED, "used_at": iso(self._ctx.clock.now())})
        return account

    async def check_link(self, token: str, purpose: str) -> LinkCheck:
        """Whether an e-mailed link can still be used for `purpose`, without spending it: the
        pages show "expired or already used" before anyone types a password. Raises
        `link-invalid` (one answer for unknown, expired, used, superseded, wrong purpose)."""
        if purpose not in LINK_PURPOSES:
            raise errors.invalid_link()
        link, account = await self._valid_link(self._ctx.store, token, purpose)
        if purpose == ACTIVATION and account["status"] != AccountStatus.PENDING_ACTIVATION:
            raise errors.invalid_link()
        expires_at = instant(link["expires_at"])
        assert expires_at is not None
        return LinkCheck(purpose, expires_at)

    # -- activation and passwords -----------------------------------------------------------

    async def activate(self, token: str, password: str) -> ActivatedAccount:
        """Spend the activation link and set the first password (item 2)."""
        ctx = self._ctx
        _, account = await self._valid_link(ctx.store, token, ACTIVATION)
        if account["status"] != AccountStatus.PENDING_ACTIVATION:
            raise errors.invalid_link()
        await _check_new_password(ctx, password, account)
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
        await _check_new_password(ctx, password, account)
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
        await _check_new_password(ctx, new, account)
        password_hash = await ctx.passwords.hash(new)
        async with ctx.outbox.transaction() as tx:
            fresh = await tx.get(ACCOUNTS, account_id)
            assert fresh is not None
            await put(tx, ACCOUNTS, {**fresh, "password_hash": password_hash})

    async def _writable(self, account_id: str) -> Document:
        account = await self._ctx.store.get(ACCOUNTS, account_id)
        if account is None:
            raise errors.not_found("account")
        if account["status"] in (AccountStatus.TERMINATED, AccountStatus.DELETED):
            raise errors.read_only()
        return account

    async def profile(self, account_id: str) -> dict[str, Any]:
        account = await self._ctx.store.get(ACCOUNTS, account_id)
        if account is None:
            raise errors.not_found("account")
        return {
            "account_id": account["_id"],
            "identifier": account["display_identifier"],
            "role": account["role"],
            "status": account["status"],
            "suspended": bool(account.get("suspended")),
            "email": account.get("email"),
            "totp_enabled": bool(account.get("totp_secret")),
            "recovery_codes_left": len(account.get("recovery_codes", [])),
            "accepted_terms_version": account.get("accepted_terms_version"),
            "terminated_at": account.get("terminated_at"),
        }

    # -- TOTP --------------------------------------------------------------------------------

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

    # -- termination -------------------------------------------------------------------------

    async def terminate(self, account_id: str) -> datetime:
        """The holder terminates (item 8): read-only until retention closes the account; every
        current token dies so that the next ones carry read-only scopes."""
        ctx = self._ctx
        async with ctx.outbox.transaction() as tx:
            account = await tx.get(ACCOUNTS, account_id)
            if account is None:
                raise errors.not_found("account")
            if account["role"] != AccountRole.RECIPIENT:
                raise errors.IdentityError(
                    403, "not-a-recipient", "Only a recipient account can be terminated."
                )
            if account["status"] in (AccountStatus.TERMINATED, AccountStatus.DELETED):
                raise errors.IdentityError(
                    409, "already-terminated", "The account is already terminated."
                )
            return await terminate_in(ctx, tx, account, TerminationReason.RECIPIENT_REQUEST)

    # -- operator actions --------------------------------------------------------------------

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


# A used or replaced link no longer needs its sealed token (expired ones: the purge drops it).
_TOKEN_DROPPED: Document = {"sealed_token": None, "token_kept": False}


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


async def terminate_in(
    ctx: Context, tx: Transaction, account: Document, reason: TerminationReason
) -> datetime:
    now = ctx.clock.now()
    actor = account_subject(account["_id"])
    account = await revoke_credentials(
        ctx, tx, account, CredentialRevocationReason.TERMINATION, actor
    )
    await put(
        tx,
        ACCOUNTS,
        {
            **account,
            "status": AccountStatus.TERMINATED.value,
            "terminated_at": iso(now),
            "termination_reason": reason.value,
            # CGU §12: read-only until 24:00 of the last day, when retention erases the acts.
            "readable_until": iso(readable_until(now, ctx.settings.termination_readable_months)),
        },
    )
    await ctx.emit(
        tx,
        AccountTerminatedV1(
            account_id=account["_id"],
            declaration_id=account.get("declaration_id"),
            terminated_at=now,
            reason=reason,
        ),
        subject=actor,
        actor=actor,
    )
    return now
