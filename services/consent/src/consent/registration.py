"""Registering a declaration: an office uploads the person's declaration and proofs
(`consent.intake` streams the files, encrypted, into the vault), the rules are checked, and the
declaration, its proofs' metadata and keys, and `consent.declaration-registered.v1` commit in
one transaction. If it does not commit, for whatever reason, the stored proofs are discarded
(their keys were never kept, so they were unreadable anyway)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping

from consent.context import Context
from consent.declarations import Declaration, HistoryEntry, Office, Proof
from consent.domain import DeclarationError, DeclarationInput, check_declaration
from consent.intake import BodyTooLargeError, Limits, Submission, SubmissionError, receive
from consent.lookup import search_keys
from consent.proofs import UploadedProof
from consent.refusals import (
    DeclarationExists,
    DeclarationRefused,
    UploadTooLarge,
    UploadUnavailable,
    rule_broken,
)
from shared.contracts.consent import DeclarationRegisteredV1, DeclarationStatus
from shared.ids import new_id
from shared.legal_calendar import validity_end
from shared.objects import ObjectStoreError
from shared.store.port import DuplicateKeyError, StoreUnavailableError
from shared.vault import TooLargeError

log = logging.getLogger(__name__)


class Registration:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def submit(
        self,
        office: Office,
        body: AsyncIterator[bytes],
        content_type: str | None,
        content_length: str | None,
        limits: Limits,
    ) -> Declaration:
        """Receive a `POST /v1/declarations` upload and register it."""
        submission = await self._receive(body, content_type, content_length, limits)
        return await self.register(office, submission.declaration, submission.uploads)

    async def _receive(
        self,
        body: AsyncIterator[bytes],
        content_type: str | None,
        content_length: str | None,
        limits: Limits,
    ) -> Submission:
        try:
            return await receive(
                body,
                content_type,
                content_length,
                vault=self._ctx.vault,
                clock=self._ctx.clock,
                limits=limits,
            )
        except (BodyTooLargeError, TooLargeError) as error:
            raise UploadTooLarge(error.limit) from None
        except SubmissionError as error:
            raise DeclarationRefused(error.message, error.errors) from None
        except ObjectStoreError:
            # What was stored of the upload was discarded (or is left to the sweeper).
            raise UploadUnavailable("object store") from None
        except StoreUnavailableError:
            raise UploadUnavailable("database") from None

    async def register(
        self,
        office: Office,
        declaration: DeclarationInput,
        uploads: Mapping[str, UploadedProof],
    ) -> Declaration:
        """Record a declaration and its (already encrypted and stored) proofs, and announce
        it; on any failure the uploads are discarded. `DeclarationRefused` for a rule broken,
        `DeclarationExists` when the person already has a live declaration."""
        try:
            return await self._register(office, declaration, uploads)
        except BaseException:
            await self._ctx.vault.discard([u.proof_id for u in uploads.values()])
            raise

    async def _register(
        self,
        office: Office,
        declaration: DeclarationInput,
        uploads: Mapping[str, UploadedProof],
    ) -> Declaration:
        ctx = self._ctx
        now = ctx.clock.now()
        try:
            territory, _today = check_declaration(declaration, now, ctx.config.freshness_months)
            referenced = {proof.part for proof in declaration.proofs}
            for index, proof in enumerate(declaration.proofs):
                if proof.part not in uploads:
                    raise DeclarationError(f"proofs[{index}].part", "no file part of that name")
            for part in uploads:
                if part not in referenced:
                    raise DeclarationError("proofs", "a file part is not described in `proofs`")
        except DeclarationError as error:
            raise rule_broken(error.field, error.message) from None
        keys = search_keys(ctx.config.pepper, declaration.person)
        valid_until = declaration.valid_until
        record = Declaration(
            id=new_id(now),
            status=DeclarationStatus.REGISTERED,
            person_kind=declaration.person.kind,
            person=declaration.person,
            keys=keys,
            live_key=keys.person,
            scope=tuple(declaration.scope),
            valid_until=valid_until,
            expires_at=validity_end(valid_until, territory) if valid_until else None,
            territory=territory,
            revocation_modalities=declaration.revocation_modalities,
            office_id=office.office_id,
            registered_by=office.subject,
            registered_at=now,
            proof_ids=tuple(uploads[p.part].proof_id for p in declaration.proofs),
            history=(
                HistoryEntry(status=DeclarationStatus.REGISTERED, at=now, cause="registration"),
            ),
        )
        registered = DeclarationRegisteredV1(
            declaration_id=record.id,
            person_kind=declaration.person.kind,
            email=declaration.person.email,
            mobile=declaration.person.mobile,
        )
        try:
            async with ctx.outbox.transaction() as tx:
                stored = await ctx.declarations.add(tx, record, now)
                for described in declaration.proofs:
                    uploaded = uploads[described.part]
                    metadata = Proof(
                        id=uploaded.proof_id,
                        declaration_id=record.id,
                        type=described.type,
                        issued_on=described.issued_on,
                        media_type=uploaded.media_type,
                        size=uploaded.size,
                        sha256=uploaded.sha256,
                        received_at=now,
                    )
                    await ctx.proofs.add(tx, metadata, now)
                    await ctx.vault.keep_key(tx, uploaded)
                await ctx.emit(tx, record.subject, registered, actor=f"office:{office.office_id}")
        except DuplicateKeyError:
            existing = await ctx.declarations.find({"live_key": keys.person}, limit=1)
            if not existing:
                raise
            raise DeclarationExists(existing[0].id) from None
        log.info("declaration %s registered by office %s", record.id, office.office_id)
        return stored
