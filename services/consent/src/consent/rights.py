"""The person's GDPR rights over what consent holds: restriction (art. 18) and objection
(art. 21) requests and the operator's final answers, the export of everything held (arts 15
and 20), and the download of their own proof files, decrypted."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from consent.context import Context
from consent.declarations import Declaration, RequestState, RestrictionRequest
from consent.refusals import (
    DeclarationNotFound,
    ProofGone,
    RestrictionAlreadyAnswered,
    RestrictionRequestNotFound,
)
from consent.views import (
    DeclarationView,
    Export,
    ExportedConsultation,
    ExportedProof,
    MyRestrictions,
    QueuedRestriction,
    RestrictionQueue,
    RestrictionRecorded,
    RestrictionView,
)
from shared.contracts.consent import RestrictionKind, RestrictionOutcome, RestrictionRequestedV1
from shared.ids import new_id
from shared.store.port import Filter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProofDownload:
    """A proof opened for download: its plaintext chunks (the first one already read)."""

    media_type: str
    size: int
    chunks: AsyncIterator[bytes]


class Rights:
    def __init__(self, ctx: Context, proof_url: str) -> None:
        self._ctx = ctx
        self._proof_url = proof_url

    # -- restriction and objection ---------------------------------------------------------

    async def request_restriction(
        self, account_id: str, kind: RestrictionKind, text: str
    ) -> RestrictionRequest:
        """Record a restriction or objection request for the operator."""
        ctx = self._ctx
        declaration = await self._ctx.declaration_of_account(account_id)
        now = ctx.clock.now()
        request = RestrictionRequest(
            id=new_id(now),
            declaration_id=declaration.id,
            account_id=account_id,
            kind=kind,
            text=text,
            requested_at=now,
        )
        event = RestrictionRequestedV1(
            request_id=request.id,
            declaration_id=declaration.id,
            account_id=account_id,
            kind=kind,
            requested_at=now,
        )
        async with ctx.outbox.transaction() as tx:
            stored = await ctx.restrictions.add(tx, request, now)
            await ctx.emit(tx, declaration.subject, event, actor=f"recipient:{account_id}")
        return stored

    async def record(
        self, account_id: str, kind: RestrictionKind, text: str
    ) -> RestrictionRecorded:
        request = await self.request_restriction(account_id, kind, text)
        return RestrictionRecorded(id=request.id, kind=request.kind, state=request.state)

    async def restriction_requests(
        self, *, state: RequestState | None, after: str | None, limit: int
    ) -> RestrictionQueue:
        """The operator's queue, oldest first (`after`: the last id of a page)."""
        where: dict[str, object] = {}
        if state is not None:
            where["state"] = state.value
        if after is not None:
            where["_id"] = {"$gt": after}
        requests = await self._ctx.restrictions.find(where, limit=limit)
        return RestrictionQueue(
            requests=[
                QueuedRestriction(
                    **dict(RestrictionView.of(request)), declaration_id=request.declaration_id
                )
                for request in requests
            ],
            next_after=requests[-1].id if len(requests) == limit else None,
        )

    async def restriction_requests_of(self, account_id: str) -> MyRestrictions:
        """The person's own requests, oldest first."""
        declaration = await self._ctx.declaration_of_account(account_id)
        requests = await self._requests_of(declaration.id)
        return MyRestrictions(requests=[RestrictionView.of(request) for request in requests])

    async def _requests_of(self, declaration_id: str) -> list[RestrictionRequest]:
        where: Filter = {"declaration_id": declaration_id}
        return await self._ctx.restrictions.find(where)

    async def answer_restriction(
        self, request_id: str, outcome: RestrictionOutcome, reason: str, *, operator: str
    ) -> RestrictionView:
        """Record the operator's answer (final) and publish it; the reason goes to the person,
        not into the event."""
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            request = await ctx.restrictions.get(request_id, tx)
            if request is None:
                raise RestrictionRequestNotFound()
            if request.state is not RequestState.OPEN:
                raise RestrictionAlreadyAnswered(request.state.value)
            answered, event = request.answer(outcome, reason, operator, now)
            stored = await ctx.restrictions.save(tx, answered, now)
            await ctx.emit(
                tx,
                f"declaration:{request.declaration_id}",
                event,
                actor=f"operator:{operator}",
            )
        log.info("restriction request %s %s", request_id, outcome.value)
        return RestrictionView.of(stored)

    # -- export and proofs -----------------------------------------------------------------

    async def export(self, account_id: str) -> Export:
        """Everything consent holds about the person, as JSON. Proof files are listed with
        their metadata and a URL to download them decrypted."""
        ctx = self._ctx
        declaration = await self._ctx.declaration_of_account(account_id)
        proofs = await ctx.proofs.find({"declaration_id": declaration.id})
        consultations = await ctx.consultations.find({"declaration_id": declaration.id})
        return Export(
            exported_at=ctx.clock.now(),
            declaration=DeclarationView.of(declaration, ctx.clock.now()),
            proofs=[ExportedProof.of(proof, self._proof_url) for proof in proofs],
            registry_consultations=[ExportedConsultation.of(c) for c in consultations],
            restriction_requests=[
                RestrictionView.of(r) for r in await self._requests_of(declaration.id)
            ],
        )

    async def download(self, account_id: str, proof_id: str) -> ProofDownload:
        """One of the person's proof files, opened before the answer starts: an object store
        down raises now (a 503), not once a 200 has begun."""
        declaration = await self._declaration_of_proof_owner(account_id)
        proof = await self._ctx.proofs.get(proof_id)
        if proof is None or proof.declaration_id != declaration.id:
            raise DeclarationNotFound("no such proof")
        if proof.shredded_at is not None or proof.media_type is None or proof.size is None:
            raise ProofGone()
        try:
            chunks = await self._ctx.vault.open(proof_id)
        except LookupError:  # its key is gone without the proof being marked shredded
            raise DeclarationNotFound("no such proof") from None
        return ProofDownload(proof.media_type.value, proof.size, chunks)

    async def _declaration_of_proof_owner(self, account_id: str) -> Declaration:
        try:
            return await self._ctx.declaration_of_account(account_id)
        except DeclarationNotFound:
            raise DeclarationNotFound("no such proof") from None
