"""Replies (CGU: the recipient of an act may answer it): a PDF, JPEG or PNG file streamed once
through its content check, the malware scanner (when one is configured), its SHA-256 and its
encryption into S3. Only a file the scanner passed — or, with no scanner configured, one
recorded as `not_scanned` — is kept: its wrapped DEK, its record, its `ReplyReceived`
evidence and `delivery.reply-received.v1` commit together. An infected file is removed before
its key could be kept and journaled as `delivery.reply-refused.v1` (signature name only).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final

from delivery.domain import ReplyInspector, safe_filename
from delivery.evidence import EvidenceSigner, EvidenceType
from delivery.service import REPLIES, ActNotFoundError
from shared.clock import Clock
from shared.contracts.delivery import ReplyReceivedV1, ReplyRefusedV1
from shared.contracts.envelope import Envelope
from shared.ids import new_id
from shared.malware import MalwareScanner, ScanOutcome, ScanVerdict
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore, to_iso
from shared.vault import EncryptedObjects, ScanRefusedError

log = logging.getLogger(__name__)

EnvelopeFactory = Callable[..., Envelope]
SERVED: Final = "served"


class ReplyInfectedError(Exception):
    """The scanner found malware: nothing was kept (422 `reply-infected`)."""

    def __init__(self, verdict: ScanVerdict) -> None:
        self.verdict = verdict
        super().__init__(f"malware found: {verdict.signature}")


class ReplyNotScannableError(Exception):
    """The scanner could not pass the file (too large for it, or its own error)."""

    def __init__(self, verdict: ScanVerdict) -> None:
        self.verdict = verdict
        super().__init__(f"scan {verdict.outcome}")


class ReplyNotFoundError(LookupError):
    pass


class ReplyErasedError(LookupError):
    """The reply was crypto-shredded with its act (410 `act-erased`)."""

    def __init__(self, reply: Mapping[str, Any]) -> None:
        self.erased_at = str(reply["erased_at"])
        super().__init__(str(reply["_id"]))


def _scan_record(verdict: ScanVerdict | None) -> dict[str, Any]:
    if verdict is None:
        return {"outcome": ScanOutcome.NOT_SCANNED.value, "scanner": "none"}
    return {"outcome": verdict.outcome.value, "scanner": verdict.scanner}


class ReplyDesk:
    """Receives a recipient's replies and shows them to the act's office."""

    def __init__(
        self,
        store: DocumentStore,
        outbox: Outbox,
        clock: Clock,
        vault: EncryptedObjects,
        signer: EvidenceSigner,
        envelope: EnvelopeFactory,
        scanner: MalwareScanner,
        *,
        max_reply_bytes: int,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.vault = vault
        self.signer = signer
        self._envelope = envelope
        self.scanner = scanner
        self.max_reply_bytes = max_reply_bytes

    async def receive(
        self,
        act: Mapping[str, Any],
        chunks: AsyncIterator[bytes],
        filename: str | None,
    ) -> dict[str, Any]:
        """Keep a reply to a served `act` from its recipient, or refuse it. Raises the
        inspector's `ContentError`, `TooLargeError`, `ReplyInfectedError` (journaled),
        `ReplyNotScannableError`, `ScannerUnavailableError` or an object store error;
        in every case nothing readable is left."""
        if act["status"] != SERVED:
            raise ActNotFoundError(act["_id"])
        reply_id = new_id(self.clock.now())
        inspector = ReplyInspector()
        try:
            stored = await self.vault.upload(
                reply_id,
                chunks,
                limit=self.max_reply_bytes,
                inspector=inspector,
                scanner=self.scanner,
            )
        except ScanRefusedError as refused:
            if refused.verdict.is_infected:
                await self._journal_refusal(act, refused.verdict)
                raise ReplyInfectedError(refused.verdict) from None
            raise ReplyNotScannableError(refused.verdict) from None
        media_type = inspector.finish()
        now = self.clock.now()
        reply: dict[str, Any] = {
            "_id": reply_id,
            "act_id": act["_id"],
            "office_id": act["office_id"],
            "recipient_account_id": act["recipient_account_id"],
            "received_at": to_iso(now),
            "media_type": media_type.value,
            "filename": safe_filename(filename),
            "size": stored.size,
            "sha256": stored.sha256,
            "scan": _scan_record(stored.verdict),
        }
        try:
            async with self.outbox.transaction() as tx:
                await tx.insert(REPLIES, reply)
                await self.vault.keep(tx, stored)
                envelope = self._envelope(
                    ReplyReceivedV1(
                        act_id=act["_id"],
                        office_id=act["office_id"],
                        office_email=act["office_email"],
                        reply_id=reply_id,
                        received_at=now,
                    ),
                    subject=f"act:{act['_id']}",
                    actor=f"account:{act['recipient_account_id']}",
                )
                await self.outbox.add(tx, envelope)
                await self.signer.attest(
                    tx,
                    act,
                    kind=EvidenceType.REPLY_RECEIVED,
                    instant=now,
                    actors={
                        "recipient": f"account:{act['recipient_account_id']}",
                        "sender": f"office:{act['office_id']}",
                    },
                    details={
                        "reply_id": reply_id,
                        "reply_sha256": stored.sha256,
                        "reply_size": stored.size,
                        "media_type": media_type.value,
                        "scan": reply["scan"],
                    },
                    event_id=envelope.event_id,
                )
        except BaseException:
            await self.vault.discard([reply_id])
            raise
        return self.view(reply)

    async def _journal_refusal(self, act: Mapping[str, Any], verdict: ScanVerdict) -> None:
        log.warning("reply to act %s refused: %s", act["_id"], verdict.signature)
        await self.outbox.publish_alone(
            self._envelope(
                ReplyRefusedV1(
                    act_id=act["_id"],
                    office_id=act["office_id"],
                    recipient_account_id=act["recipient_account_id"],
                    refused_at=self.clock.now(),
                    outcome=verdict.outcome.value,
                    scanner=verdict.scanner,
                    signature=verdict.signature,
                    bytes_scanned=verdict.bytes_sent,
                ),
                subject=f"act:{act['_id']}",
                actor=f"account:{act['recipient_account_id']}",
            )
        )

    @staticmethod
    def view(reply: Mapping[str, Any]) -> dict[str, Any]:
        if "erased_at" in reply:
            return {
                "id": reply["_id"],
                "act_id": reply["act_id"],
                "received_at": reply["received_at"],
                "sha256": reply["sha256"],
                "erased_at": reply["erased_at"],
            }
        return {
            "id": reply["_id"],
            "act_id": reply["act_id"],
            "received_at": reply["received_at"],
            "media_type": reply["media_type"],
            "filename": reply["filename"],
            "size": reply["size"],
            "sha256": reply["sha256"],
            "scan": reply["scan"],
        }

    async def of_act(self, act: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = await self.store.find(REPLIES, {"act_id": act["_id"]}, sort=[("_id", 1)])
        return [self.view(row) for row in rows]

    async def open(
        self, act: Mapping[str, Any], reply_id: str
    ) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        """A reply of `act` and its verified plaintext (LookupError when unknown)."""
        reply = await self.store.get(REPLIES, reply_id)
        if reply is None or reply["act_id"] != act["_id"]:
            raise ReplyNotFoundError(reply_id)
        if "erased_at" in reply:
            raise ReplyErasedError(reply)
        return reply, await self.vault.open(reply_id)
