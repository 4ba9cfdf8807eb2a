"""Opening accounts: a recipient's for each consent declaration (its activation link
issued), an operator's from the CLI."""

from __future__ import annotations

import logging

from identity import errors
from identity.accounts.base import password_rejected
from identity.accounts.links import Links
from identity.domain import AccountStatus, new_identifier, normalize_identifier
from identity.records import ACCOUNTS, account_subject, iso
from shared.contracts.consent import DeclarationRegisteredV1
from shared.contracts.envelope import Envelope
from shared.contracts.identity import AccountCreatedV1, AccountRole
from shared.ids import new_id
from shared.store.port import Document, DuplicateKeyError, Transaction

log = logging.getLogger(__name__)


class Opening(Links):
    """Accounts come into being: a recipient's from a declaration, an operator's."""

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
