"""Contacts: the contact data notify keeps, and their purge.

The book keeps one e-mail address and one mobile number per account (and, until the account
exists, per declaration): the events that must reach a person carry ids, not addresses (the
journal keeps every event for years), and notify finds the address here. The e-mail comes from
the registry's declaration, the activation and reset links, and the confirmed changes; the
mobile from the registry's declaration (the number the person gave, or none) and identity's
mobile changes. Whether a mobile was ever learnt is kept apart from the number: "none given" is
not "not known yet" (an act-served notice waits for the second, `notify.planning`). With them,
the territory of the last act served to the account (notices to users are in that legal time)
and the offices that served it (a notice scoped to an office reaches the accounts it served).
Purged when the erasure certificate has been issued, and when retention asks (the contact-data
purge of an account, the five-year purge of a declaration).

On `retention.contact-data-purge-requested.v1` (an account) and
`retention.declaration-purge-requested.v1` (a declaration), notify forgets the contacts of the
party (and of the party linked to it), removes the masked addresses from the party's history,
and publishes `notify.contacts-purged.v1`. A message still waiting or being sent keeps its
address until its outcome is recorded, which clears it (the erasure certificate, the last
message, may be such a message).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict, Field

from notify.values import Instant
from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.contracts.notify import ContactsPurgedV1
from shared.contracts.registry import decode_payload
from shared.contracts.retention import ContactDataPurgeRequestedV1, DeclarationPurgeRequestedV1
from shared.legal_calendar import Territory
from shared.store.port import VERSION, Document, Index, Transaction

if TYPE_CHECKING:
    from notify.context import Context

log = logging.getLogger(__name__)

CONTACTS: Final = "contacts"
CONTACT_INDEXES: Final = (Index(CONTACTS, ("account_id",)), Index(CONTACTS, ("declaration_id",)))
PURGE_REQUESTS: Final = (
    ContactDataPurgeRequestedV1.routing_key(),
    DeclarationPurgeRequestedV1.routing_key(),
)


def _account_key(account_id: str) -> str:
    return f"account:{account_id}"


def _declaration_key(declaration_id: str) -> str:
    return f"declaration:{declaration_id}"


@dataclass
class Forgotten:
    """What a purge removed, and the parties it concerned (to scrub their history)."""

    removed: int = 0
    account_ids: set[str] = field(default_factory=set)
    declaration_ids: set[str] = field(default_factory=set)


class Contact(BaseModel):
    """The address known for an account (`account:<id>`) or, until the account exists, for a
    declaration (`declaration:<id>`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(alias="_id")
    version: int | None = Field(default=None, alias=VERSION, exclude=True)
    account_id: str | None
    declaration_id: str | None
    email: str | None
    mobile: str | None = None
    # Whether the registry or identity said which mobile (if any) the person gave: a row
    # written only from an e-mail event has not learnt it yet.
    mobile_known: bool = False
    updated_at: Instant
    territory: Territory | None = None
    """The recipient territory of the last act served to the account."""
    offices: list[str] = Field(default_factory=list)
    """The offices that served the account an act (sorted)."""

    def with_mobile(self, mobile: str | None) -> Contact:
        return self.model_copy(update={"mobile": mobile, "mobile_known": True})

    def document(self) -> Document:
        return self.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class Reach:
    """How to reach a person: the e-mail address, and the mobile if one is known."""

    email: str | None
    mobile: str | None
    mobile_known: bool


class ContactBook:
    """Reads and writes contacts inside the caller's transaction."""

    def __init__(
        self, db: Transaction, clock: Clock, *, offices: Mapping[str, str] | None = None
    ) -> None:
        # A transaction (or the store itself, which has the same operations).
        self._db = db
        self._clock = clock
        self._offices = offices or {}

    def office_email(self, office_id: str) -> str | None:
        """An office's address, from the directory notify is configured with."""
        return self._offices.get(office_id)

    async def _get(self, key: str) -> Contact | None:
        found = await self._db.get(CONTACTS, key)
        return None if found is None else Contact.model_validate(found)

    async def _of_declaration(self, declaration_id: str, limit: int | None = None) -> list[Contact]:
        rows = await self._db.find(
            CONTACTS, {"declaration_id": {"$in": [declaration_id]}}, limit=limit
        )
        return [Contact.model_validate(row) for row in rows]

    async def _put(self, contact: Contact, current: Contact | None, now: datetime) -> None:
        stamped = contact.model_copy(update={"updated_at": now})
        if current is None:
            await self._db.insert(CONTACTS, stamped.document())
        else:
            assert current.version is not None  # read from the store
            await self._db.replace(CONTACTS, stamped.document(), expected_version=current.version)

    async def remember_account(
        self,
        account_id: str,
        *,
        email: str | None = None,
        declaration_id: str | None = None,
        territory: Territory | None = None,
        office_id: str | None = None,
    ) -> None:
        """Record what an event says about an account; a declaration-only contact merges in."""
        pending = None
        if declaration_id is not None:
            pending = await self._get(_declaration_key(declaration_id))
            if pending is not None:
                email = email or pending.email
                await self._db.delete(CONTACTS, pending.id)
        key = _account_key(account_id)
        current = await self._get(key)
        now = self._clock.now()
        offices = [office_id] if office_id else []
        if current is None:
            contact = Contact(
                id=key,
                account_id=account_id,
                declaration_id=declaration_id,
                email=email,
                updated_at=now,
                territory=territory,
                offices=offices,
            )
            if pending is not None and pending.mobile_known:
                contact = contact.with_mobile(pending.mobile)
            await self._put(contact, None, now)
            return
        changed = current.model_copy(
            update={
                "email": email or current.email,
                "declaration_id": declaration_id or current.declaration_id,
                "territory": territory or current.territory,
                "offices": sorted({*current.offices, *offices}),
            }
        )
        if pending is not None and pending.mobile_known and not current.mobile_known:
            changed = changed.with_mobile(pending.mobile)
        if changed != current:
            await self._put(changed, current, now)

    async def remember_mobile(
        self, account_id: str, mobile: str | None, *, declaration_id: str | None = None
    ) -> None:
        """The number SMS notices go to from now on (None: no SMS), as identity says."""
        await self.remember_account(account_id, declaration_id=declaration_id)
        key = _account_key(account_id)
        current = await self._get(key)
        assert current is not None  # just remembered
        changed = current.with_mobile(mobile)
        if changed != current:
            await self._put(changed, current, self._clock.now())

    async def remember_declaration(
        self, declaration_id: str, email: str, mobile: str | None = None
    ) -> None:
        """A declaration's address and mobile (or none), kept until identity opens the account
        for it. An account already opened for it learns the mobile if it had not."""
        known = await self._of_declaration(declaration_id)
        now = self._clock.now()
        if known:
            for found in known:
                if not found.mobile_known:
                    await self._put(found.with_mobile(mobile), found, now)
            return
        key = _declaration_key(declaration_id)
        contact = Contact(
            id=key, account_id=None, declaration_id=declaration_id, email=email, updated_at=now
        ).with_mobile(mobile)
        await self._put(contact, await self._get(key), now)

    async def reach(self, *, account_id: str, declaration_id: str | None) -> Reach:
        """The account's e-mail and mobile, else its declaration's (before the account is
        linked to it)."""
        rows = []
        found = await self._get(_account_key(account_id))
        if found is not None:
            rows.append(found)
        if declaration_id is not None:
            rows += await self._of_declaration(declaration_id)
        email = next((row.email for row in rows if row.email), None)
        learnt = next((row for row in rows if row.mobile_known), None)
        if learnt is None:
            return Reach(email, None, mobile_known=False)
        return Reach(email, learnt.mobile, mobile_known=True)

    async def email_for(
        self, *, account_id: str | None = None, declaration_id: str | None = None
    ) -> str | None:
        """The known address of an account, else of a declaration."""
        if account_id is not None:
            found = await self._get(_account_key(account_id))
            if found is not None and found.email:
                return found.email
        if declaration_id is not None:
            for found in await self._of_declaration(declaration_id):
                if found.email:
                    return found.email
        return None

    async def accounts_after(self, cursor: str, limit: int) -> tuple[list[Contact], bool]:
        """The accounts' contacts after `cursor` (a contact id, "" to start) in id order, at
        most `limit`; and whether they are the last ones."""
        start = max(cursor, _account_key(""))
        rows = await self._db.find(
            CONTACTS, {"_id": {"$gt": start}}, sort=[("_id", 1)], limit=limit
        )
        # Declarations' contacts sort after the accounts' ("declaration:" > "account:").
        accounts = [Contact.model_validate(r) for r in rows if r["_id"].startswith("account:")]
        return accounts, len(rows) < limit or len(accounts) < len(rows)

    def offices(self) -> list[str]:
        """Every office of the directory."""
        return sorted(self._offices)

    async def forget(self, account_id: str) -> int:
        """Purge every contact of an account (and of its declaration); returns how many."""
        removed = 0
        account = await self._get(_account_key(account_id))
        if account is not None:
            removed += int(await self._db.delete(CONTACTS, account.id))
            if account.declaration_id:
                removed += int(
                    await self._db.delete(CONTACTS, _declaration_key(account.declaration_id))
                )
        return removed

    async def forget_party(
        self, *, account_id: str | None = None, declaration_id: str | None = None
    ) -> Forgotten:
        """Purge the contacts of an account and/or a declaration, and of the party linked to it
        (an account's declaration, a declaration's account): one person, one address."""
        forgotten = Forgotten()
        if account_id is not None:
            forgotten.account_ids.add(account_id)
            account = await self._get(_account_key(account_id))
            if account is not None and account.declaration_id:
                forgotten.declaration_ids.add(account.declaration_id)
        if declaration_id is not None:
            forgotten.declaration_ids.add(declaration_id)
        linked: list[str] = []
        for declaration in sorted(forgotten.declaration_ids):
            for found in await self._of_declaration(declaration):
                if found.account_id:
                    forgotten.account_ids.add(found.account_id)
                linked.append(found.id)
        keys = {
            *linked,
            *(_account_key(a) for a in forgotten.account_ids),
            *(_declaration_key(d) for d in forgotten.declaration_ids),
        }
        for key in sorted(keys):
            forgotten.removed += int(await self._db.delete(CONTACTS, key))
        return forgotten


@dataclass(frozen=True)
class _PurgeRequest:
    erasure_id: str
    account_id: str | None = None
    declaration_id: str | None = None


def _purge_request(envelope: Envelope) -> _PurgeRequest | None:
    if envelope.type == ContactDataPurgeRequestedV1.routing_key():
        account = decode_payload(envelope, ContactDataPurgeRequestedV1)
        return _PurgeRequest(account.erasure_id, account_id=account.account_id)
    if envelope.type == DeclarationPurgeRequestedV1.routing_key():
        declaration = decode_payload(envelope, DeclarationPurgeRequestedV1)
        return _PurgeRequest(declaration.erasure_id, declaration_id=declaration.declaration_id)
    return None


class Contacts:
    """Retention's ways in: forget a party's contacts and scrub its history."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def purge_contacts(self, account_id: str) -> int:
        """Forget the contact data kept for an account (and its declaration); returns how many
        contacts were removed. `purge_on_request` is retention's way in."""
        async with self._ctx.store.transaction() as tx:
            forgotten = await self._forget(tx, account_id=account_id, declaration_id=None)
        return forgotten.removed

    async def purge_on_request(self, envelope: Envelope, consumer: str) -> bool:
        """Retention's contact-data purge of an account or purge of a declaration: forget the
        contacts, scrub the history, publish `notify.contacts-purged.v1`; once per event.
        False for a duplicate delivery or another event."""
        request = _purge_request(envelope)
        if request is None:
            return False

        async def effect(tx: Transaction) -> None:
            forgotten = await self._forget(
                tx, account_id=request.account_id, declaration_id=request.declaration_id
            )
            payload = ContactsPurgedV1(
                erasure_id=request.erasure_id,
                account_id=request.account_id,
                declaration_id=request.declaration_id,
                purged_at=self._ctx.clock.now(),
            )
            await self._ctx.events.emit(tx, payload, subject=envelope.subject, causation=envelope)
            log.info(
                "contacts purged for erasure %s: %d contact(s), %d account(s), %d declaration(s)",
                request.erasure_id,
                forgotten.removed,
                len(forgotten.account_ids),
                len(forgotten.declaration_ids),
            )

        return await self._ctx.inbox(consumer).process(envelope, effect)

    async def _forget(
        self, tx: Transaction, *, account_id: str | None, declaration_id: str | None
    ) -> Forgotten:
        forgotten = await self._ctx.contacts(tx).forget_party(
            account_id=account_id, declaration_id=declaration_id
        )
        parties = [f"account:{a}" for a in sorted(forgotten.account_ids)]
        parties += [f"declaration:{d}" for d in sorted(forgotten.declaration_ids)]
        await self._ctx.notifications.scrub_masked_addresses(
            tx, account_ids=forgotten.account_ids, parties=parties, at=self._ctx.clock.now()
        )
        return forgotten
