"""Replies (CGU: the recipient of an act may answer it): a PDF, JPEG or PNG file streamed once
through its content check, the malware scanner (when one is configured), its SHA-256 and its
encryption into S3. Only a file the scanner passed — or, with no scanner configured, one
recorded as `not_scanned` — is kept: its wrapped DEK, its record, its `ReplyReceived`
evidence and `delivery.reply-received.v1` commit together. An infected file is removed before
its key could be kept and journaled as `delivery.reply-refused.v1` (signature name only).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from delivery.acts import Act, ActStatus, Instant
from delivery.context import Context
from delivery.domain import ContentError, ReplyInspector, ReplyMediaType, safe_filename
from delivery.errors import (
    ActErased,
    ActNotFound,
    DependencyUnavailable,
    FileRefused,
    ReplyInfected,
    ReplyNotFound,
    UploadTooLarge,
    invalid_upload,
)
from delivery.evidence import EvidenceType
from delivery.repository import REPLIES
from shared.contracts.delivery import ReplyReceivedV1, ReplyRefusedV1
from shared.ids import new_id
from shared.malware import ScannerUnavailableError, ScanOutcome, ScanVerdict
from shared.multipart import MultipartError, MultipartReader, boundary_of
from shared.store.port import VERSION, Document, DocumentReader, to_iso
from shared.vault import ScanRefusedError, TooLargeError

log = logging.getLogger(__name__)

TOO_LARGE_FOR_SCANNER: Final = "too_large"


class ScanRecord(BaseModel):
    """Whether (and by whom) a kept reply was scanned: `not_scanned` by `none` without one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: str
    scanner: str

    @classmethod
    def of(cls, verdict: ScanVerdict | None) -> ScanRecord:
        if verdict is None:
            return cls(outcome=ScanOutcome.NOT_SCANNED.value, scanner="none")
        return cls(outcome=verdict.outcome.value, scanner=verdict.scanner)


class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(alias="_id")
    version: int | None = Field(default=None, alias=VERSION, exclude=True)
    act_id: str
    office_id: str
    recipient_account_id: str
    received_at: Instant
    sha256: str


class Reply(_Stored):
    """A kept reply, as stored and as shown (what was kept of it, not its content)."""

    media_type: ReplyMediaType
    filename: str | None
    size: int
    scan: ScanRecord


class ErasedReply(_Stored):
    """What remains of a reply once its act was erased: ids, date, fingerprint."""

    erased_at: Instant

    @classmethod
    def of(cls, reply: Reply, at: Instant) -> ErasedReply:
        return cls(
            id=reply.id,
            version=reply.version,
            act_id=reply.act_id,
            office_id=reply.office_id,
            recipient_account_id=reply.recipient_account_id,
            received_at=reply.received_at,
            sha256=reply.sha256,
            erased_at=at,
        )


StoredReply = Reply | ErasedReply


def parse_reply(document: Document) -> StoredReply:
    if "erased_at" in document:
        return ErasedReply.model_validate(document)
    return Reply.model_validate(document)


async def replies_of(reader: DocumentReader, act_id: str) -> list[StoredReply]:
    rows = await reader.find(REPLIES, {"act_id": act_id}, sort=[("_id", 1)])
    return [parse_reply(row) for row in rows]


class ReplyView(BaseModel):
    """A kept reply as its sender and the act's office see it."""

    id: str
    act_id: str
    received_at: Instant
    media_type: ReplyMediaType
    filename: str | None
    size: int
    sha256: str
    scan: ScanRecord


class ErasedReplyView(BaseModel):
    id: str
    act_id: str
    received_at: Instant
    sha256: str
    erased_at: Instant


def reply_view(reply: StoredReply) -> ReplyView | ErasedReplyView:
    if isinstance(reply, ErasedReply):
        return ErasedReplyView(
            id=reply.id,
            act_id=reply.act_id,
            received_at=reply.received_at,
            sha256=reply.sha256,
            erased_at=reply.erased_at,
        )
    return ReplyView(
        id=reply.id,
        act_id=reply.act_id,
        received_at=reply.received_at,
        media_type=reply.media_type,
        filename=reply.filename,
        size=reply.size,
        sha256=reply.sha256,
        scan=reply.scan,
    )


async def _file_of(
    body: AsyncIterator[bytes], content_type: str | None, filename: str | None
) -> tuple[AsyncIterator[bytes], str | None]:
    """The file's bytes and name: a multipart form's first file part, or the body itself."""
    if not (content_type or "").lower().startswith("multipart/"):
        return body, filename
    reader = MultipartReader(body, boundary_of(content_type))
    while (part := await reader.next_part()) is not None:
        if part.filename is not None:
            return reader.chunks(), part.filename
        async for _chunk in reader.chunks():
            pass  # a form field beside the file: not used
    raise MultipartError("no file part")


class Replies:
    """Receives a recipient's replies and shows them to the act's office."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def max_reply_bytes(self) -> int:
        return self.ctx.config.max_reply_bytes

    async def receive(
        self,
        act: Act,
        body: AsyncIterator[bytes],
        content_type: str | None,
        filename: str | None = None,
    ) -> ReplyView:
        """Keep a reply to a served `act` from its recipient, or refuse it; whatever the
        refusal (not a complete file, too large, infected, the scanner or the object store
        down), nothing readable is left. `body` is either `multipart/form-data` with one file
        part or the file itself (`filename` then names it)."""
        if act.status != ActStatus.SERVED:
            raise ActNotFound
        try:
            chunks, name = await _file_of(body, content_type, filename)
            return await self._receive(act, chunks, name)
        except TooLargeError:
            raise UploadTooLarge(self.max_reply_bytes) from None
        except ContentError as error:
            raise FileRefused(error) from None
        except MultipartError as error:
            raise invalid_upload(str(error)) from None
        except ScannerUnavailableError:
            raise DependencyUnavailable("malware scanner") from None

    async def _receive(
        self, act: Act, chunks: AsyncIterator[bytes], filename: str | None
    ) -> ReplyView:
        ctx = self.ctx
        reply_id = new_id(ctx.clock.now())
        inspector = ReplyInspector()
        try:
            stored = await ctx.replies_vault.upload(
                reply_id,
                chunks,
                limit=self.max_reply_bytes,
                inspector=inspector,
                scanner=ctx.scanner,
            )
        except ScanRefusedError as refused:
            verdict = refused.verdict
            if verdict.is_infected:
                await self._journal_refusal(act, verdict)
                raise ReplyInfected(verdict.signature) from None
            if verdict.outcome.value == TOO_LARGE_FOR_SCANNER:
                raise UploadTooLarge(verdict.bytes_sent) from None
            raise DependencyUnavailable("malware scanner") from None
        media_type = inspector.finish()
        now = ctx.clock.now()
        reply = Reply(
            id=reply_id,
            act_id=act.id,
            office_id=act.office_id,
            recipient_account_id=act.recipient_account_id,
            received_at=now,
            media_type=media_type,
            filename=safe_filename(filename),
            size=stored.size,
            sha256=stored.sha256,
            scan=ScanRecord.of(stored.verdict),
        )
        try:
            async with ctx.outbox.transaction() as tx:
                await tx.insert(REPLIES, reply.model_dump(mode="json", by_alias=True))
                await ctx.replies_vault.keep(tx, stored)
                received = await ctx.emit(
                    tx,
                    act,
                    ReplyReceivedV1(
                        act_id=act.id,
                        office_id=act.office_id,
                        office_email=act.office_email,
                        reply_id=reply_id,
                        received_at=now,
                    ),
                    actor=act.recipient_actor,
                )
                await ctx.signer.attest(
                    tx,
                    act,
                    kind=EvidenceType.REPLY_RECEIVED,
                    instant=now,
                    actors={"recipient": act.recipient_actor, "sender": act.office_actor},
                    details={
                        "reply_id": reply_id,
                        "reply_sha256": stored.sha256,
                        "reply_size": stored.size,
                        "media_type": media_type.value,
                        "scan": reply.scan.model_dump(),
                    },
                    event_id=received.event_id,
                )
        except BaseException:
            await ctx.replies_vault.discard([reply_id])
            raise
        view = reply_view(reply)
        assert isinstance(view, ReplyView)
        return view

    async def _journal_refusal(self, act: Act, verdict: ScanVerdict) -> None:
        log.warning("reply to act %s refused: %s", act.id, verdict.signature)
        await self.ctx.events.emit_alone(
            ReplyRefusedV1(
                act_id=act.id,
                office_id=act.office_id,
                recipient_account_id=act.recipient_account_id,
                refused_at=self.ctx.clock.now(),
                outcome=verdict.outcome.value,
                scanner=verdict.scanner,
                signature=verdict.signature,
                bytes_scanned=verdict.bytes_sent,
            ),
            subject=act.subject,
            actor=act.recipient_actor,
        )

    async def of_act(self, act_id: str) -> list[ReplyView | ErasedReplyView]:
        return [reply_view(reply) for reply in await replies_of(self.ctx.store, act_id)]

    async def sent(self, act_id: str, reply_id: str) -> ReplyView | ErasedReplyView:
        """A reply the person sent to `act_id` (the `Location` of its upload)."""
        for reply in await self.of_act(act_id):
            if reply.id == reply_id:
                return reply
        raise ReplyNotFound

    async def open(self, act_id: str, reply_id: str) -> tuple[Reply, AsyncIterator[bytes]]:
        """A reply of the act and its verified plaintext: 404 when unknown (or its key is
        gone), 410 once erased with its act."""
        found = await self.ctx.store.get(REPLIES, reply_id)
        if found is None or found["act_id"] != act_id:
            raise ActNotFound
        reply = parse_reply(found)
        if isinstance(reply, ErasedReply):
            raise ActErased(act_id, to_iso(reply.erased_at))
        try:
            return reply, await self.ctx.replies_vault.open(reply_id)
        except LookupError:
            raise ActNotFound from None
