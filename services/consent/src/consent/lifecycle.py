"""A declaration's lifecycle after registration: identity's account and CGU events (linked,
activated, refused, terminated, never activated), the person's revocation, and the expiry job.

Every transition replaces the declaration at the version it was read, with its event, in one
transaction, so two replicas (or the expiry job and a consumer) never apply two transitions
from the same state. Events may come in any order: a CGU acceptance processed before the
account-created event links the account itself; an ended consent stays ended.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from consent.context import Context
from consent.declarations import AccountMismatchError, Declaration
from consent.domain import LIVE
from consent.refusals import NotAnswerable, NotRevocable, StatementChanged
from consent.statement import Statement, statement_of
from shared.contracts.consent import DeclarationPart, DeclarationStatus
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.identity import (
    AccountActivationLapsedV1,
    AccountCreatedV1,
    AccountRole,
    AccountTerminatedV1,
    TermsAcceptedV1,
    TermsRefusedV1,
)
from shared.messaging.consumer import PermanentFailure
from shared.store.port import Transaction, to_iso
from shared.sweeps import sweep

log = logging.getLogger(__name__)

EXPIRY_BATCH: Final = 500


class DeclarationNotYetKnownError(Exception):
    """An identity event names a declaration this store does not hold (yet): the consumer
    retries it with backoff and, if it never appears, parks it in the DLQ for replay."""


def _linked(declaration: Declaration, account_id: str) -> Declaration:
    try:
        return declaration.linked(account_id)
    except AccountMismatchError as error:
        raise PermanentFailure(str(error)) from None


class Lifecycle:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @property
    def context(self) -> Context:
        return self._ctx

    async def declaration_for(self, tx: Transaction, declaration_id: str | None) -> Declaration:
        """The declaration an identity event names (`DeclarationNotYetKnownError` if none)."""
        return await self._declaration_for(tx, declaration_id)

    async def _declaration_for(self, tx: Transaction, declaration_id: str | None) -> Declaration:
        if declaration_id is None:
            raise DeclarationNotYetKnownError("the event names no declaration")
        declaration = await self._ctx.declarations.get(declaration_id, tx)
        if declaration is None:
            raise DeclarationNotYetKnownError(f"declaration {declaration_id} not known yet")
        return declaration

    # -- identity's events -----------------------------------------------------------------

    async def on_account_created(
        self, tx: Transaction, created: AccountCreatedV1, _envelope: Envelope
    ) -> None:
        """Link the recipient's account to its declaration (no status change)."""
        if created.role is not AccountRole.RECIPIENT or created.declaration_id is None:
            return
        declaration = await self._declaration_for(tx, created.declaration_id)
        if declaration.account_id == created.account_id:
            return  # already linked (e.g. by a CGU acceptance processed first)
        linked = _linked(declaration, created.account_id)
        await self._ctx.declarations.save(tx, linked, self._ctx.clock.now())

    async def on_terms_accepted(
        self, tx: Transaction, accepted: TermsAcceptedV1, envelope: Envelope
    ) -> None:
        """CGU accepted: the consent becomes active (CPC 748-2), unless its duration is
        already over. Links the account too, so the order of identity's events is free."""
        if accepted.declaration_id is None:
            return  # an operator's account: no consent involved
        declaration = await self._declaration_for(tx, accepted.declaration_id)
        linked = _linked(declaration, accepted.account_id)
        if linked.expires_at is not None and linked.expires_at <= accepted.accepted_at:
            await self.expire(tx, linked, causation=envelope)
            return
        moved = declaration.activate(
            accepted.account_id, accepted.accepted_at, accepted.terms_version
        )
        if moved is not None:
            await self._apply(tx, *moved, causation=envelope)
        elif declaration.account_id is None:
            await self._ctx.declarations.save(tx, linked, self._ctx.clock.now())

    async def on_terms_refused(
        self, tx: Transaction, refused: TermsRefusedV1, envelope: Envelope
    ) -> None:
        """CGU refused before any acceptance: no consent. A refusal of a later version by an
        active holder ends through identity's termination event instead."""
        if refused.declaration_id is None:
            return
        declaration = await self._declaration_for(tx, refused.declaration_id)
        moved = declaration.refuse(refused.account_id, refused.refused_at, refused.terms_version)
        if moved is not None:
            await self._apply(tx, *moved, causation=envelope)

    async def on_account_terminated(
        self, tx: Transaction, terminated: AccountTerminatedV1, envelope: Envelope
    ) -> None:
        if terminated.declaration_id is None:
            return
        declaration = await self._declaration_for(tx, terminated.declaration_id)
        moved = declaration.terminate(
            terminated.account_id, terminated.terminated_at, terminated.reason.value
        )
        if moved is not None:
            await self._apply(tx, *moved, causation=envelope)

    async def on_activation_lapsed(
        self, tx: Transaction, lapsed: AccountActivationLapsedV1, envelope: Envelope
    ) -> None:
        """The account was never activated: the declaration expires, never active (an
        activated one ignores the event: the person answered first)."""
        declaration = await self._declaration_for(tx, lapsed.declaration_id)
        moved = declaration.lapse(lapsed.account_id, lapsed.activation_expired_at, lapsed.lapsed_at)
        if moved is not None:
            await self._apply(tx, *moved, causation=envelope)

    # -- the person ------------------------------------------------------------------------

    async def revoke(self, account_id: str) -> Declaration:
        """The person revokes: effective now for new acts, never retroactive."""
        declaration = await self._ctx.declaration_of_account(account_id)
        now = self._ctx.clock.now()
        status = declaration.status_at(now)
        if status not in LIVE:
            raise NotRevocable(status)
        moved = declaration.revoke(account_id, now)
        if moved is None:  # pragma: no cover - guarded by the status check above
            raise NotRevocable(declaration.status)
        async with self._ctx.outbox.transaction() as tx:
            revoked = await self._apply(tx, *moved, actor=f"recipient:{account_id}")
        log.info("declaration %s revoked", declaration.id)
        return revoked

    async def statement(self, account_id: str) -> Statement:
        """The declaration as the person validates it, with its content hash."""
        declaration = await self._ctx.declaration_of_account(account_id)
        return statement_of(declaration, declaration.status_at(self._ctx.clock.now()))

    async def _answerable(self, account_id: str, content_hash: str) -> Declaration:
        declaration = await self._ctx.declaration_of_account(account_id)
        status = declaration.status_at(self._ctx.clock.now())
        if status is not DeclarationStatus.REGISTERED:
            raise NotAnswerable(status)
        if statement_of(declaration, status).content_hash != content_hash:
            raise StatementChanged
        return declaration

    async def validate(self, account_id: str, content_hash: str) -> Statement:
        """The person validates the statement they were shown (its hash): recorded with its
        event; the CGU acceptance that follows activates the consent on that content."""
        declaration = await self._answerable(account_id, content_hash)
        if declaration.validated_hash == content_hash:
            return statement_of(declaration, declaration.status)
        validated, event = declaration.validated_by(account_id, self._ctx.clock.now(), content_hash)
        async with self._ctx.outbox.transaction() as tx:
            stored = await self._apply(tx, validated, event, actor=f"recipient:{account_id}")
        return statement_of(stored, stored.status)

    async def contest(
        self, account_id: str, content_hash: str, parts: tuple[DeclarationPart, ...], reason: str
    ) -> Statement:
        """The person refuses the declaration as wrong, saying why: refused, never active;
        the office is told which parts (its own reading of the declaration has the words)."""
        declaration = await self._answerable(account_id, content_hash)
        moved = declaration.contest(account_id, self._ctx.clock.now(), parts, reason, content_hash)
        if moved is None:  # pragma: no cover - guarded by the status check above
            raise NotAnswerable(declaration.status)
        contested, refused, told = moved
        actor = f"recipient:{account_id}"
        async with self._ctx.outbox.transaction() as tx:
            stored = await self._apply(tx, contested, refused, actor=actor)
            await self._ctx.emit(tx, stored.subject, told, actor=actor)
        log.info("declaration %s contested by the person", declaration.id)
        return statement_of(stored, stored.status)

    # -- expiry ----------------------------------------------------------------------------

    async def expire(
        self, tx: Transaction, declaration: Declaration, *, causation: Envelope | None = None
    ) -> Declaration | None:
        """Expire `declaration` (as read) at its end instant, or None if it already ended."""
        moved = declaration.expire()
        if moved is None:
            return None
        return await self._apply(tx, *moved, causation=causation)

    async def expire_due(self) -> int:
        """Expire every live declaration whose duration is over (catching up on any backlog
        after downtime: it selects by instant, not by "yesterday"). Safe on several replicas:
        a declaration another replica changed first is skipped. Returns how many expired."""

        async def due(now: datetime) -> list[Declaration]:
            return await self._ctx.declarations.find(
                {
                    "expires_at": {"$lte": to_iso(now)},
                    "status": {"$in": sorted(s.value for s in LIVE)},
                },
                sort=[("expires_at", 1)],
                limit=EXPIRY_BATCH,
            )

        async def process(declaration: Declaration, _now: datetime) -> bool:
            async with self._ctx.outbox.transaction() as tx:
                return await self.expire(tx, declaration) is not None

        expired = await sweep(self._ctx.clock, due, process)
        if expired:
            log.info("%d declarations expired", expired)
        return expired

    async def expire_due_job(self) -> None:
        """`expire_due` as a periodic job."""
        await self.expire_due()

    async def _apply(
        self,
        tx: Transaction,
        declaration: Declaration,
        event: EventPayload,
        *,
        actor: str | None = None,
        causation: Envelope | None = None,
    ) -> Declaration:
        stored = await self._ctx.declarations.save(tx, declaration, self._ctx.clock.now())
        await self._ctx.emit(tx, declaration.subject, event, actor=actor, causation=causation)
        return stored
