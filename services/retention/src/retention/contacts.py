"""What the certificate needs, captured before any purge (inside the inbox transaction): the
account's e-mail address (the declaration's, then each confirmed change) and the acts served to
it (ids, fingerprints, dates; no content); and what the purge must reach: the declaration's
account, the registry lookups that found it."""

from __future__ import annotations

from retention.context import Context
from retention.erasure import Erasure
from retention.records import Contact, Lookup, ServedAct
from shared.contracts.consent import DeclarationRegisteredV1, RegistryConsultedV1
from shared.contracts.delivery import ActServedV1, ActServedV3
from shared.contracts.identity import AccountCreatedV1, EmailChangedV1
from shared.store.port import DocumentReader, Transaction


class Contacts:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def on_declaration_registered(
        self, tx: Transaction, event: DeclarationRegisteredV1
    ) -> None:
        await merge(self.ctx, tx, f"declaration:{event.declaration_id}", email=str(event.email))

    async def on_account_created(self, tx: Transaction, event: AccountCreatedV1) -> None:
        await link_account(self.ctx, tx, event.account_id, event.declaration_id)

    async def on_registry_consulted(self, tx: Transaction, event: RegistryConsultedV1) -> None:
        if event.declaration_id is None:
            return  # found nobody: names nobody
        if await self.ctx.lookups.get(tx, event.consultation_id) is None:
            lookup = Lookup(id=event.consultation_id, declaration_id=event.declaration_id)
            await self.ctx.lookups.add(tx, lookup)

    async def on_email_changed(self, tx: Transaction, event: EmailChangedV1) -> None:
        """The certificate goes to the address in use (act-served no longer carries it)."""
        await merge(
            self.ctx,
            tx,
            f"account:{event.account_id}",
            email=str(event.email),
            declaration_id=event.declaration_id,
        )

    async def on_act_served(self, tx: Transaction, event: ActServedV1 | ActServedV3) -> None:
        if await self.ctx.served_acts.get(tx, event.act_id) is None:
            served = ServedAct(
                id=event.act_id,
                account_id=event.recipient_account_id,
                sha256=event.act_sha256,
                served_at=event.served_at,
            )
            await self.ctx.served_acts.add(tx, served)
        # v1 and v2 carried the recipient's address; v3 names the account only.
        email = getattr(event, "recipient_email", None)
        await merge(
            self.ctx,
            tx,
            f"account:{event.recipient_account_id}",
            email=None if email is None else str(email),
            declaration_id=event.declaration_id,
        )


async def link_account(
    ctx: Context, tx: Transaction, account_id: str, declaration_id: str | None
) -> None:
    """Pin the declaration on the account (its address must survive identity's purge) and the
    account on the declaration (a consent that expires names no account)."""
    if declaration_id:
        await merge(ctx, tx, f"account:{account_id}", declaration_id=declaration_id)
        await merge(ctx, tx, f"declaration:{declaration_id}", account_id=account_id)


async def merge(
    ctx: Context,
    tx: Transaction,
    key: str,
    *,
    email: str | None = None,
    declaration_id: str | None = None,
    account_id: str | None = None,
) -> None:
    """Read-then-write in the inbox transaction; a concurrent insert of the same key makes
    the transaction fail and the consumer retry, which then reads it."""
    current = await ctx.contacts.get(tx, key)
    if current is None:
        contact = Contact(id=key, email=email, declaration_id=declaration_id, account_id=account_id)
        await ctx.contacts.add(tx, contact)
        return
    merged = current.merged(email=email, declaration_id=declaration_id, account_id=account_id)
    if merged != current:
        await ctx.contacts.save(tx, merged)


async def email_of(
    ctx: Context, db: DocumentReader, account_id: str | None, declaration_id: str | None
) -> str | None:
    """The account's address, else its declaration's."""
    account = await ctx.contacts.get(db, f"account:{account_id}") if account_id else None
    if account is not None and account.email:
        return account.email
    declaration_id = declaration_id or (account.declaration_id if account else None)
    if declaration_id:
        declaration = await ctx.contacts.get(db, f"declaration:{declaration_id}")
        if declaration is not None and declaration.email:
            return declaration.email
    return None


async def account_of(ctx: Context, db: DocumentReader, declaration_id: str) -> str | None:
    """The declaration's account, as identity's creation linked them."""
    declaration = await ctx.contacts.get(db, f"declaration:{declaration_id}")
    return declaration.account_id if declaration is not None else None


async def lookups_of(ctx: Context, db: DocumentReader, declaration_id: str) -> list[str]:
    return [lookup.id for lookup in await ctx.lookups.of_declaration(db, declaration_id)]


async def forget(ctx: Context, tx: Transaction, erasure: Erasure) -> None:
    """The erasure's addresses leave retention's store."""
    for key in (f"account:{erasure.account_id}", f"declaration:{erasure.declaration_id}"):
        await ctx.contacts.forget(tx, key)
