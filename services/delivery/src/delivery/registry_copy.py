"""Delivery's copy of the registry leaves with the person's data.

Delivery keeps, per declaration, what it needs to address the recipient and serve views (e-mail,
mobile, scope, territory: `delivery.parties`). When the account's contact data is purged (two
months after a termination, CGU §12) the addresses go; when the registry's data is destroyed
(five years after the consent ended, décret 2021-1625 art. 21) the whole copy goes, and the
acts of an account never terminated are crypto-shredded like a terminated account's
(`delivery.erasure`). A tombstone keeps the ids, the status and its dates, so that an act's
evidence still resolves and a late event cannot bring the copy back.
"""

from __future__ import annotations

from typing import Final

from delivery.acts import Act
from delivery.context import Context
from delivery.erasure import ActEraser
from delivery.parties import DECLARATIONS
from shared.contracts.envelope import Envelope
from shared.contracts.retention import DeclarationPurgeRequestedV1, RegistryCopyPurgedV1
from shared.store.port import DocumentReader, Transaction, to_iso

CONTACT_FIELDS: Final = ("email", "mobile")
REGISTRY_FIELDS: Final = (*CONTACT_FIELDS, "scope", "territory")
PURGED: Final = "purged_at"
"""Set on a declaration whose copy was purged: later events about it change nothing."""


async def forget_fields(
    tx: Transaction, declaration_id: str, fields: tuple[str, ...], mark: str | None
) -> None:
    """Drop `fields` from the declaration's copy (and mark it purged at `mark`, if given)."""
    current = await tx.get(DECLARATIONS, declaration_id)
    if current is None:
        if mark is None:
            return
        await tx.insert(DECLARATIONS, {"_id": declaration_id, PURGED: mark})
        return
    version = int(current.pop("_version"))
    kept = {k: v for k, v in current.items() if k not in fields}
    if mark is not None:
        kept[PURGED] = current.get(PURGED) or mark
    if kept != current:
        await tx.replace(DECLARATIONS, kept, expected_version=version)


async def forget_contacts(tx: Transaction, account_id: str) -> None:
    """The account's contact data purge (CGU §12, two months after termination): the
    addresses of its declarations (its notifications keep only masked ones)."""
    for declaration in await tx.find(DECLARATIONS, {"account_id": account_id}):
        await forget_fields(tx, str(declaration["_id"]), CONTACT_FIELDS, None)


class RegistryCopy:
    """Delivery's part of the registry purge."""

    def __init__(self, ctx: Context, eraser: ActEraser) -> None:
        self.ctx = ctx
        self.eraser = eraser

    async def account_of(
        self, request: DeclarationPurgeRequestedV1, reader: DocumentReader | None = None
    ) -> str | None:
        if request.account_id is not None:
            return request.account_id
        db = reader or self.ctx.store
        found = await db.get(DECLARATIONS, request.declaration_id)
        account = (found or {}).get("account_id")
        if account is None:
            # Acts name their declaration even where the copy never learnt the account.
            acts = await self.ctx.acts.find(
                {"declaration_id": request.declaration_id}, limit=1, reader=db
            )
            account = next((a.recipient_account_id for a in acts if isinstance(a, Act)), None)
        return str(account) if account is not None else None

    async def shred_acts(self, request: DeclarationPurgeRequestedV1) -> None:
        """The acts first (idempotent, S3 deletions outside any transaction)."""
        account_id = await self.account_of(request)
        if account_id is not None:
            await self.eraser.erase_account(account_id, request.erasure_id)

    async def purge_and_confirm(
        self, tx: Transaction, request: DeclarationPurgeRequestedV1, envelope: Envelope
    ) -> RegistryCopyPurgedV1:
        """In the inbox transaction: the copy becomes a tombstone, the notified addresses go,
        and `delivery.registry-copy-purged.v1` lists every act of the account."""
        ctx = self.ctx
        now = ctx.clock.now()
        account_id = await self.account_of(request, tx)
        await forget_fields(tx, request.declaration_id, REGISTRY_FIELDS, to_iso(now))
        acts = [] if account_id is None else await self.eraser.erased_acts(tx, account_id)
        confirmation = RegistryCopyPurgedV1(
            erasure_id=request.erasure_id,
            declaration_id=request.declaration_id,
            account_id=account_id,
            acts=acts,
            purged_at=now,
        )
        await ctx.events.emit(
            tx,
            confirmation,
            subject=f"declaration:{request.declaration_id}",
            actor="service:delivery",
            causation=envelope,
        )
        return confirmation
