"""Reading the registry: a declaration as its office, its person or the operator see it, and
the exact-key lookup bailiffs and the judicial authority make before serving (décret
2021-1625 art. 21).

A lookup answers exact keys only (no listing, no fuzzy match), is journaled with its purpose
whatever its outcome, and is limited per consulter and rolling minute: the window is counted
in the lookup's own transaction, so a lookup is counted if and only if it happened, replicas
share the count, and a refused lookup is none (not searched, not journaled).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from consent.context import Context
from consent.declarations import (
    Consultation,
    Declaration,
    LookupWindow,
    Proof,
    lookup_subject,
)
from consent.domain import LIVE
from consent.domicile_view import domicile_changed_at
from consent.lookup import (
    Consulter,
    NaturalQuery,
    RateWindow,
    SirenQuery,
    legal_key,
    natural_key,
    natural_place_key,
)
from consent.refusals import DeclarationNotFound, LookupRateLimited
from consent.views import (
    ConsentStatus,
    DeclarationView,
    LookupHit,
    LookupMiss,
    MyDeclaration,
    ProofLink,
)
from shared.contracts.consent import RegistryConsultedV1
from shared.ids import new_id
from shared.store.port import DuplicateKeyError, VersionConflictError

log = logging.getLogger(__name__)

LOOKUP_WINDOW: Final = timedelta(minutes=1)
# Tries at recording a lookup when other replicas record the same consulter's at once.
_RATE_ATTEMPTS: Final = 5
# A person has at most one live declaration and any number that ended.
_CANDIDATES: Final = 50


class Registry:
    """The national registry of declarations, as read."""

    def __init__(self, ctx: Context, proof_url: str) -> None:
        self._ctx = ctx
        self._proof_url = proof_url

    async def get(self, declaration_id: str) -> Declaration | None:
        return await self._ctx.declarations.get(declaration_id)

    async def of_account(self, account_id: str) -> Declaration:
        """The latest declaration linked to the account."""
        return await self._ctx.declaration_of_account(account_id)

    async def proofs_of(self, declaration_id: str) -> list[Proof]:
        return await self._ctx.proofs.find({"declaration_id": declaration_id})

    def view(self, declaration: Declaration) -> DeclarationView:
        return DeclarationView.of(declaration, self._ctx.clock.now())

    async def seen_by(
        self,
        declaration_id: str,
        *,
        operator: bool,
        office_id: str | None,
        account_id: str | None,
    ) -> DeclarationView:
        """The declaration if this caller may read it: an operator, its registering office or
        its person; anyone else is answered as for an unknown id."""
        declaration = await self.get(declaration_id)
        if declaration is None:
            raise DeclarationNotFound()
        allowed = (
            operator
            or (office_id is not None and office_id == declaration.office_id)
            or (account_id is not None and account_id == declaration.account_id)
        )
        if not allowed:
            raise DeclarationNotFound()
        return self.view(declaration)

    async def status_of(self, declaration_id: str) -> ConsentStatus:
        """The consent's status now, as delivery asks it at the sending instant (CPC 748-2:
        the registry of record decides, not a copy fed by events). Not journaled here: the
        act's evidence at delivery records the answer."""
        declaration = await self.get(declaration_id)
        if declaration is None:
            raise DeclarationNotFound()
        return ConsentStatus.of(declaration, self._ctx.clock.now())

    async def mine(self, account_id: str) -> MyDeclaration:
        """The person's declaration with links to their proof files."""
        declaration = await self.of_account(account_id)
        proofs = [
            ProofLink.of(proof, self._proof_url) for proof in await self.proofs_of(declaration.id)
        ]
        return MyDeclaration(**dict(self.view(declaration)), proofs=proofs)

    # -- the lookup ------------------------------------------------------------------------

    async def search(
        self, consulter: Consulter, query: NaturalQuery | SirenQuery, purpose: str
    ) -> LookupHit | None:
        """Exact-key lookup, journaled with its purpose whatever its outcome, within the
        consulter's rate limit (`LookupRateLimited` beyond)."""
        pepper = self._ctx.config.pepper
        if isinstance(query, SirenQuery):
            where = {"keys.person": legal_key(pepper, query.siren)}
        elif query.lieu_naissance:
            key = natural_place_key(
                pepper, query.nom, query.prenoms, query.date_naissance, query.lieu_naissance
            )
            where = {"keys.place": key}
        else:
            where = {
                "keys.person": natural_key(pepper, query.nom, query.prenoms, query.date_naissance)
            }
        try:
            for _attempt in range(_RATE_ATTEMPTS):
                try:
                    return await self._search_once(consulter, where, purpose)
                except (VersionConflictError, DuplicateKeyError):
                    continue  # another replica recorded a lookup of this consulter: read again
            # Contention that lasting is the consulter's own lookups racing each other.
            raise LookupRateLimited(1)
        except LookupRateLimited:
            log.warning("registry lookup refused: rate limit of %s reached", consulter.actor)
            raise

    async def answer(
        self, consulter: Consulter, query: NaturalQuery | SirenQuery, purpose: str
    ) -> LookupHit | LookupMiss:
        """`search` as the route answers it: no match is an answer too."""
        return await self.search(consulter, query, purpose) or LookupMiss()

    async def _search_once(
        self, consulter: Consulter, where: dict[str, str], purpose: str
    ) -> LookupHit | None:
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            # Counted and journaled in one transaction: a lookup is counted if and only if it
            # happened, and two replicas recording the same consulter's conflict and re-read.
            window = await ctx.lookup_windows.get(consulter.actor, tx)
            rates = RateWindow(window.at if window else ())
            wait = rates.retry_after(now, ctx.config.lookup_limits.of(consulter), LOOKUP_WINDOW)
            if wait is not None:
                raise LookupRateLimited(wait)
            # The live declaration answers, else the latest (a revoked consent must read as
            # revoked, not as unknown).
            found = await ctx.declarations.find(
                where, sort=[("_id", -1)], limit=_CANDIDATES, reader=tx
            )
            live = [d for d in found if d.status in LIVE]
            chosen = live[0] if live else (found[0] if found else None)
            hit = None
            if chosen is not None:
                hit = LookupHit(
                    declaration_id=chosen.id,
                    status=chosen.status_at(now),
                    scope=list(chosen.scope),
                    valid_until=chosen.valid_until,
                    territory=chosen.territory,
                    domicile_changed_at=domicile_changed_at(chosen),
                )
            consultation = Consultation(
                id=new_id(now),
                declaration_id=chosen.id if chosen else None,
                consulter_role=consulter.role,
                office_id=consulter.office_id,
                purpose=purpose,
                consulted_at=now,
            )
            await ctx.consultations.add(tx, consultation, now)
            await ctx.emit(
                tx,
                lookup_subject(consultation.id),
                RegistryConsultedV1(
                    consultation_id=consultation.id,
                    consulter_role=consulter.role,
                    office_id=consulter.office_id,
                    consulter=consulter.subject,
                    purpose=purpose,
                    declaration_id=consultation.declaration_id,
                    consulted_at=now,
                ),
                actor=consulter.actor,
            )
            recorded = rates.record(now, LOOKUP_WINDOW)
            if window is None:
                await ctx.lookup_windows.add(
                    tx, LookupWindow(id=consulter.actor, at=recorded.at), now
                )
            else:
                await ctx.lookup_windows.save(
                    tx, window.model_copy(update={"at": recorded.at}), now
                )
        return hit
