"""The erasure certificate's issuance and download.

An erasure of an account (after a termination, or the registry's purge of a declaration with
an account) whose confirmations are all in gets its certificate: signed, rendered,
both files encrypted in the object store, the record and the announcement in one transaction
(the e-mail address leaves retention's store with it). Audit's receipts of the confirmations
are awaited for a grace period; then the certificate is issued listing the missing ones.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from retention.certificate import (
    CertifiedAct,
    CertifiedStep,
    IssuedCertificate,
    certificate_document,
    sign_certificate,
)
from retention.contacts import email_of, forget
from retention.context import Context
from retention.domain import NEVER_CONSENTED
from retention.download_links import hash_token, new_token, seal_token
from retention.erasure import Erasure, ErasureState
from retention.receipts import receipt_set
from retention.records import Certificate, StoredFile
from shared.contracts.retention import ErasedAct
from shared.crypto import decrypt_stream, encrypt_stream
from shared.ids import new_id
from shared.refusals import Refusal
from shared.store.port import DuplicateKeyError, VersionConflictError, to_iso
from shared.sweeps import sweep

log = logging.getLogger(__name__)


class CertificateNotFound(Refusal, LookupError):  # noqa: N818 - a refusal, not a failure
    """No certificate at this address; a wrong token says no more than a wrong id."""

    status = 404
    code = "certificate-not-found"
    title = "Not found"

    def __init__(self) -> None:
        super().__init__("No certificate at this address.")


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def file_object_id(certificate_id: str, kind: str) -> str:
    """What the DEK of a certificate file (`pdf` or `json`) is bound to."""
    return f"certificate:{certificate_id}:{kind}"


def _object_key(certificate_id: str, kind: str) -> str:
    return f"certificates/{certificate_id}.{kind}"


def _certified_act(act: ErasedAct) -> CertifiedAct:
    # Its instants as delivery's event carried them (JSON text), as the erasure stores them.
    carried = act.model_dump(mode="json")
    return CertifiedAct(
        act.act_id, act.sha256, carried["served_at"], carried["erased_at"], tuple(act.reply_ids)
    )


class Certificates:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # Set by the confirmations consumer; `issue_when_wanted` does the work, so the
        # consumer never waits on audit for receipts.
        self.wanted = asyncio.Event()
        # One issuance at a time in this process (the scheduler pass issues too): two would
        # both sign and store a certificate before one loses the claim.
        self._issuing = asyncio.Lock()

    async def issue_pending(self) -> int:
        """Issue the certificate of every erasure whose confirmations are all in."""
        ctx = self.ctx

        async def confirmed(_now: datetime) -> list[Erasure]:
            return await ctx.erasures.in_state(
                ctx.store, ErasureState.CONFIRMED, ctx.policy.batch_size
            )

        async def issue(erasure: Erasure, _now: datetime) -> bool:
            return await self._issue(erasure)

        async with self._issuing:
            return await sweep(ctx.clock, confirmed, issue)

    async def issue_when_wanted(self) -> None:
        """Background job: issue certificates as soon as confirmations complete an erasure.
        A failure (audit away for the receipts, S3 down) waits for the next confirmation or
        the scheduler's pass; the confirmations themselves are already recorded."""
        ctx = self.ctx
        while True:
            await self.wanted.wait()
            self.wanted.clear()
            try:
                await self.issue_pending()
                waiting = await ctx.erasures.count_in_state(ctx.store, ErasureState.CONFIRMED)
            except Exception:
                log.exception("certificate issuance deferred to the next scheduler pass")
                continue
            if waiting:
                # Held back for receipts audit has not checkpointed yet: look again shortly.
                await asyncio.sleep(ctx.policy.receipt_recheck.total_seconds())
                self.wanted.set()

    async def _issue(self, erasure: Erasure) -> bool:
        ctx = self.ctx
        now = ctx.clock.now()
        certificate_id = new_id(now)
        assert erasure.account_id is not None  # only erasures with an account are certified
        steps = [
            CertifiedStep(participant.value, c.event_id, to_iso(c.confirmed_at))
            for participant, c in erasure.confirmations.items()
        ]
        receipts = await receipt_set(ctx.receipts, [s.event_id for s in steps])
        if erasure.waits_for_receipts(receipts, now, ctx.policy.receipt_grace):
            log.info("certificate of %s waits for audit receipts", erasure.id)
            return False
        document = certificate_document(
            certificate_id=certificate_id,
            issued_at=now,
            account_id=erasure.account_id,
            declaration_id=erasure.declaration_id,
            terminated_at=to_iso(erasure.terminated_at) if erasure.terminated_at else None,
            due_at=to_iso(erasure.due_at),
            acts=[_certified_act(act) for act in erasure.acts],
            steps=steps,
            receipts=receipts,
            consent_ended_at=to_iso(erasure.consent_ended_at) if erasure.consent_ended_at else None,
            never_consented=erasure.ended_by in NEVER_CONSENTED,
        )
        issued = await sign_certificate(document, ctx.signer, zone=ctx.policy.zone)
        files = await self._store_files(issued)
        token = new_token()
        certificate = Certificate(
            id=certificate_id,
            erasure_id=erasure.id,
            account_id=erasure.account_id,
            fingerprint=issued.fingerprint,
            pdf_sha256=issued.pdf_sha256,
            key_id=issued.key_id,
            token_sha256=hash_token(token),
            files=files,
            issued_at=now,
            # Notify fetches the link when it sends (`download_links`): no event carries it.
            sealed_token=await seal_token(ctx.keys, certificate_id, token),
        )
        try:
            async with ctx.outbox.transaction() as tx:
                await ctx.certificates.add(tx, certificate)
                # Captured when the erasure started; a late capture is the second chance.
                email = erasure.email or await email_of(
                    ctx, tx, erasure.account_id, erasure.declaration_id
                )
                await ctx.erasures.save(tx, erasure.certified(certificate_id))
                if email is None:
                    log.error("certificate %s has no address to go to", certificate_id)
                    ctx.alerts.count("certificate_undeliverable")
                await ctx.emit(tx, certificate.announcements(email))
                await forget(ctx, tx, erasure)
        except (VersionConflictError, DuplicateKeyError):
            # Another replica issued it: our objects are orphans, unreadable without their keys.
            for kind in files:
                await ctx.objects.delete(_object_key(certificate_id, kind))
            return False
        log.info("erasure certificate %s issued (%s)", certificate_id, issued.fingerprint)
        return True

    @property
    def public_keys(self) -> list[str]:
        """The C2SP verifier key strings that verify certificates offline."""
        return self.ctx.signer.verifier_keys()

    async def _store_files(self, issued: IssuedCertificate) -> dict[str, StoredFile]:
        """Both files encrypted in S3 under their own DEKs; the wrapped DEKs stay here."""
        files: dict[str, StoredFile] = {}
        for kind, data in (("pdf", issued.pdf), ("json", issued.signed_json)):
            object_id = file_object_id(issued.certificate_id, kind)
            key, wrapped = await self.ctx.keys.new_data_key(object_id)
            await self.ctx.objects.put(
                _object_key(issued.certificate_id, kind),
                aiter(encrypt_stream(_chunks(data), key, object_id)),
                content_type="application/octet-stream",
            )
            files[kind] = StoredFile(wrapped=wrapped, size=len(data))
        return files

    async def read(self, certificate_id: str, token: str, kind: str) -> bytes:
        """The decrypted file (`pdf` or `json`) if `token` is the one e-mailed with it."""
        ctx = self.ctx
        certificate = await ctx.certificates.get(ctx.store, certificate_id)
        if certificate is None or kind not in certificate.files:
            raise CertificateNotFound
        if not hmac.compare_digest(certificate.token_sha256, hash_token(token)):
            raise CertificateNotFound
        object_id = file_object_id(certificate_id, kind)
        key = await ctx.keys.unwrap(certificate.files[kind].wrapped, object_id)
        ciphertext = await ctx.objects.get(_object_key(certificate_id, kind))
        return b"".join([c async for c in decrypt_stream(ciphertext, key, object_id)])
