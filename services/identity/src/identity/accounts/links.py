"""E-mailed links: issued sealed (no event carries the token), checked without spending,
spent once, fetched by notify through the internal API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from identity import errors
from identity.accounts.base import AccountCase
from identity.domain import AccountStatus, hash_secret, new_link_token
from identity.records import ACCOUNTS, LINKS, account_subject, instant, iso, put
from identity.sealed import link_object_id
from shared.contracts.envelope import Envelope
from shared.contracts.identity import ActivationLinkIssuedV2
from shared.ids import new_id
from shared.store.port import Document, DocumentReader, Transaction

ACTIVATION = "activation"
RESET = "reset"
# Confirms a new notification address (`identity.contacts`), from the address itself.
EMAIL_CHANGE = "email-change"
LINK_PURPOSES = frozenset({ACTIVATION, RESET, EMAIL_CHANGE})
ACTIVATION_PATH = "/activation"
RESET_PATH = "/reinitialisation"
EMAIL_CHANGE_PATH = "/donnees/courriel/confirmation"
_LINK_PATHS = {ACTIVATION: ACTIVATION_PATH, RESET: RESET_PATH, EMAIL_CHANGE: EMAIL_CHANGE_PATH}
# Account fields of the lapse rule: the last activation link's expiry, and when it lapsed.
LAST_ACTIVATION_EXPIRY = "activation_link_expires_at"
ACTIVATION_LAPSED = "activation_lapsed_at"


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


# A used or replaced link no longer needs its sealed token (expired ones: the purge drops it).
_TOKEN_DROPPED: Document = {"sealed_token": None, "token_kept": False}


class Links(AccountCase):
    """Single-use e-mailed links (activation, reset): issued, checked, spent, fetched by
    notify to send them."""

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
        path = _LINK_PATHS[purpose]
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

    # What other use cases (`identity.contacts`) issue and spend links with.
    async def issue_link(
        self, tx: Transaction, account_id: str, purpose: str, ttl: timedelta
    ) -> IssuedLink:
        return await self._new_link(tx, account_id, purpose, ttl)

    async def spend_link(self, tx: Transaction, token: str, purpose: str) -> Document:
        return await self._spend_link(tx, token, purpose)

    async def valid_link(self, token: str, purpose: str) -> tuple[Document, Document]:
        return await self._valid_link(self._ctx.store, token, purpose)

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
