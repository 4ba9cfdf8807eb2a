"""The contact data notify keeps: one e-mail address per account (and, until the account
exists, per declaration), only so that confirmations that arrive without an address (consent
revoked, account terminated) can be sent. Mobile numbers are never kept: the only SMS (act
served) carries its number. Purged when the erasure certificate has been issued, and when
retention asks (the contact-data purge of an account, the five-year purge of a declaration).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.clock import Clock
from shared.store.port import Index, Transaction, to_iso

CONTACTS = "contacts"
CONTACT_INDEXES = (Index(CONTACTS, ("account_id",)), Index(CONTACTS, ("declaration_id",)))


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


class ContactBook:
    """Reads and writes contacts inside the caller's transaction."""

    def __init__(self, db: Transaction, clock: Clock) -> None:
        # A transaction (or the store itself, which has the same operations).
        self._db = db
        self._clock = clock

    async def remember_account(
        self, account_id: str, *, email: str | None = None, declaration_id: str | None = None
    ) -> None:
        """Record what an event says about an account; a declaration-only contact merges in."""
        if declaration_id is not None:
            pending = await self._db.get(CONTACTS, _declaration_key(declaration_id))
            if pending is not None:
                email = email or pending.get("email")
                await self._db.delete(CONTACTS, pending["_id"])
        key = _account_key(account_id)
        current = await self._db.get(CONTACTS, key)
        now = to_iso(self._clock.now())
        if current is None:
            await self._db.insert(
                CONTACTS,
                {
                    "_id": key,
                    "account_id": account_id,
                    "declaration_id": declaration_id,
                    "email": email,
                    "updated_at": now,
                },
            )
            return
        changed = {
            **current,
            "email": email or current.get("email"),
            "declaration_id": declaration_id or current.get("declaration_id"),
            "updated_at": now,
        }
        if changed != {**current, "updated_at": now}:
            await self._db.replace(CONTACTS, changed, expected_version=current["_version"])

    async def remember_declaration(self, declaration_id: str, email: str) -> None:
        """A declaration's address, kept until identity opens the account for it."""
        if await self._db.find(CONTACTS, {"declaration_id": {"$in": [declaration_id]}}, limit=1):
            return
        key = _declaration_key(declaration_id)
        current = await self._db.get(CONTACTS, key)
        document = {
            "_id": key,
            "account_id": None,
            "declaration_id": declaration_id,
            "email": email,
            "updated_at": to_iso(self._clock.now()),
        }
        if current is None:
            await self._db.insert(CONTACTS, document)
        else:
            await self._db.replace(CONTACTS, document, expected_version=current["_version"])

    async def email_for(
        self, *, account_id: str | None = None, declaration_id: str | None = None
    ) -> str | None:
        """The known address of an account, else of a declaration."""
        if account_id is not None:
            found = await self._db.get(CONTACTS, _account_key(account_id))
            if found is not None and found.get("email"):
                return str(found["email"])
        if declaration_id is not None:
            for found in await self._db.find(
                CONTACTS, {"declaration_id": {"$in": [declaration_id]}}
            ):
                if found.get("email"):
                    return str(found["email"])
        return None

    async def forget(self, account_id: str) -> int:
        """Purge every contact of an account (and of its declaration); returns how many."""
        removed = 0
        account = await self._db.get(CONTACTS, _account_key(account_id))
        if account is not None:
            declaration_id = account.get("declaration_id")
            removed += int(await self._db.delete(CONTACTS, account["_id"]))
            if declaration_id:
                removed += int(
                    await self._db.delete(CONTACTS, _declaration_key(str(declaration_id)))
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
            account = await self._db.get(CONTACTS, _account_key(account_id))
            if account is not None and account.get("declaration_id"):
                forgotten.declaration_ids.add(str(account["declaration_id"]))
        if declaration_id is not None:
            forgotten.declaration_ids.add(declaration_id)
        linked: list[str] = []
        for declaration in sorted(forgotten.declaration_ids):
            for found in await self._db.find(CONTACTS, {"declaration_id": {"$in": [declaration]}}):
                if found.get("account_id"):
                    forgotten.account_ids.add(str(found["account_id"]))
                linked.append(found["_id"])
        keys = {
            *linked,
            *(_account_key(a) for a in forgotten.account_ids),
            *(_declaration_key(d) for d in forgotten.declaration_ids),
        }
        for key in sorted(keys):
            forgotten.removed += int(await self._db.delete(CONTACTS, key))
        return forgotten
