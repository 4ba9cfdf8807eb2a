"""Deposit: an office serves an act (`POST /v1/acts`). The metadata is read first, consent (asked
of the registry, `delivery.consent`) and the CPC 664 window checked before the document is
read, the files streamed into the vault, and the consent asked again at the deposit instant,
and the act recorded — served now, served on the judge's leave, or scheduled for the window's
next opening — or refused and the refusal journaled. A repeated `Idempotency-Key` answers
the original outcome when the body is the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from pydantic import ValidationError

from delivery.acts import Act, Deposit, JudgeLeave
from delivery.context import Context
from delivery.domain import (
    ActMetadata,
    ConsentRefusal,
    ContentError,
    PdfInspector,
    Recipient,
    WindowCheck,
    check_consent,
    check_window,
    ended_by,
    safe_filename,
)
from delivery.errors import (
    ConsentRefused,
    DocumentRefused,
    FieldError,
    IdempotencyKeyReused,
    InvalidRequest,
    JudgeLeaveAlreadyUsed,
    RecipientSuspended,
    UploadTooLarge,
    WindowClosed,
    invalid_submission,
)
from delivery.evidence import EvidenceType
from delivery.idempotency import (
    DOCUMENT_PART,
    LEAVE_PART,
    IdempotencyKeys,
    IdempotencyRecord,
    Outcome,
    fingerprint,
    metadata_hash,
    replay,
)
from delivery.leaves import bind_leave, bound_elsewhere, check_order
from delivery.offices import Office
from delivery.parties import account_suspended, declaration_of, note_hold
from delivery.rejections import Rejections
from delivery.serving import count_outcome, serve, submission_details
from delivery.views import DepositView
from shared.contracts.delivery import RejectionReason
from shared.ids import new_id
from shared.legal_calendar import ServiceZones
from shared.multipart import MultipartError, MultipartReader, PartHeaders, boundary_of
from shared.store.port import DuplicateKeyError, Transaction, to_iso
from shared.telemetry import ACT_ID, annotate, in_span, span
from shared.vault import StoredObject, TooLargeError

METADATA_PART: Final = "metadata"
CREATED: Final = 201
ACCEPTED: Final = 202


@dataclass
class _Received:
    metadata: ActMetadata
    document: StoredObject | None = None
    leave: StoredObject | None = None
    filename: str | None = None
    stored: list[str] = field(default_factory=list)


class Deposits:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.keys = IdempotencyKeys(ctx)
        self.rejections = Rejections(ctx)

    async def submit(
        self,
        office: Office,
        idempotency_key: str,
        content_type: str | None,
        body: AsyncIterator[bytes],
    ) -> Outcome:
        """Read the metadata, check consent and window, stream the documents into the
        vault, and record the act — or replay the original outcome."""
        try:
            reader = MultipartReader(body, boundary_of(content_type))
        except MultipartError as error:
            raise InvalidRequest("Invalid submission", str(error)) from None
        try:
            return await self._submit(office, idempotency_key, reader)
        except TooLargeError as error:
            raise UploadTooLarge(error.limit) from None

    async def _submit(
        self, office: Office, idempotency_key: str, reader: MultipartReader
    ) -> Outcome:
        ctx = self.ctx
        metadata = await self._read_metadata(reader)
        key_id = f"{office.office_id}:{idempotency_key}"
        previous = await self.keys.get(key_id)
        if previous is not None:
            return await replay(previous, metadata, reader, ctx.config)
        # Asked before the document is read (a refusal costs no upload), and again at the
        # deposit instant. Consent unreachable: 503 before anything is read or recorded.
        with span("consent check"):
            answer = await ctx.consent.status(metadata.declaration_id)
        now = ctx.clock.now()
        act_id = new_id(now)
        annotate(act_id=act_id, office_id=office.office_id)
        declaration = await declaration_of(ctx.store, metadata.declaration_id)
        recipient = check_consent(answer, declaration, metadata.nature, now)
        if isinstance(recipient, ConsentRefusal):
            await self.rejections.journal(office, act_id, metadata, [recipient.reason()], None)
            raise ConsentRefused(recipient)
        account_id, recipient_territory = recipient.account_id, recipient.territory
        if not metadata.schedule_if_closed and await account_suspended(ctx.store, account_id):
            await self.rejections.suspended(office, act_id, metadata, None)
            raise RecipientSuspended
        received = _Received(metadata)
        try:
            part = await reader.next_part()
            if part is not None and part.name == LEAVE_PART and part.filename is not None:
                check_order(metadata, office, now)
                received.leave = await self._upload(
                    office, act_id, metadata, f"{act_id}-leave", part, reader, received, leave=True
                )
                if await bound_elsewhere(ctx.store, office, received.leave.sha256):
                    await self.rejections.leave_already_used(office, act_id, metadata, None)
                    raise JudgeLeaveAlreadyUsed
                part = await reader.next_part()
            if part is None or part.name != DOCUMENT_PART or part.filename is None:
                raise invalid_submission(
                    "after `metadata` (and an optional `judge_leave` file) comes the "
                    "`document` file part"
                )
            window = check_window(now, recipient_territory, office.territory, self._zones)
            if not window.open and received.leave is None and not metadata.schedule_if_closed:
                await self.rejections.window(office, act_id, metadata, window)
                raise WindowClosed(window)
            received.filename = safe_filename(part.filename)
            received.document = await self._upload(
                office, act_id, metadata, act_id, part, reader, received, leave=False
            )
            if await reader.next_part() is not None:
                raise invalid_submission("nothing may follow the `document` part")
            return await self._record(office, key_id, act_id, recipient, received)
        except MultipartError as error:
            await ctx.acts_vault.discard(received.stored)
            raise invalid_submission(str(error)) from None
        except BaseException:
            await ctx.acts_vault.discard(received.stored)
            raise

    @property
    def _zones(self) -> ServiceZones:
        return self.ctx.config.service_zones

    async def _read_metadata(self, reader: MultipartReader) -> ActMetadata:
        try:
            part = await reader.next_part()
            if part is None or part.name != METADATA_PART or part.filename is not None:
                raise invalid_submission("the first part must be the JSON `metadata` field")
            raw = bytearray()
            async for chunk in reader.chunks():
                raw += chunk
                if len(raw) > self.ctx.config.max_metadata_bytes:
                    raise invalid_submission("the `metadata` part is too large")
        except MultipartError as error:
            raise invalid_submission(str(error)) from None
        try:
            return ActMetadata.model_validate_json(bytes(raw))
        except ValidationError as error:
            # Where and why only: the input may be personal data and is not echoed back.
            errors = [
                FieldError(loc=["metadata", *e["loc"]], msg=e["msg"], type=e["type"])
                for e in error.errors(include_input=False, include_url=False)
            ]
            raise invalid_submission("the `metadata` part is invalid", errors) from None

    async def _upload(
        self,
        office: Office,
        act_id: str,
        metadata: ActMetadata,
        object_id: str,
        part: PartHeaders,
        reader: MultipartReader,
        received: _Received,
        *,
        leave: bool,
    ) -> StoredObject:
        config = self.ctx.config
        limit = config.max_leave_bytes if leave else config.max_act_bytes
        received.stored.append(object_id)
        try:
            with span("upload and encrypt", attributes={ACT_ID: act_id}):
                return await self.ctx.acts_vault.upload(
                    object_id, reader.chunks(), limit=limit, inspector=PdfInspector()
                )
        except ContentError as error:
            name = LEAVE_PART if leave else DOCUMENT_PART
            reason = RejectionReason(
                code=error.problem.value.replace("-", "_"), detail=f"{name}: {error.detail}"
            )
            await self.rejections.journal(office, act_id, metadata, [reason], None)
            raise DocumentRefused(name, error) from None

    async def _record(
        self,
        office: Office,
        key_id: str,
        act_id: str,
        recipient: Recipient,
        received: _Received,
    ) -> Outcome:
        ctx = self.ctx
        assert received.document is not None
        metadata = received.metadata
        document = received.document
        # The legal date is the deposit instant, now that the act can be made available: the
        # registry is asked again (an upload takes time) and the instant read once it
        # answered; an end it learns of later is reconciled (`delivery.reconciliation`).
        with span("consent check"):
            answer = await ctx.consent.status(metadata.declaration_id)
        now = ctx.clock.now()
        current = await declaration_of(ctx.store, metadata.declaration_id)
        checked = check_consent(answer, current, metadata.nature, now)
        if isinstance(checked, ConsentRefusal):
            await self.rejections.journal(
                office, act_id, metadata, [checked.reason()], document.sha256
            )
            raise ConsentRefused(checked)
        assert answer is not None
        recipient = checked
        account_id, recipient_territory = recipient.account_id, recipient.territory
        window = check_window(now, recipient_territory, office.territory, self._zones)
        act = Act.uploaded(
            act_id,
            Deposit(
                office_id=office.office_id,
                office_name=office.name,
                office_email=office.email,
                office_territory=office.territory,
                office_client=office.client,
                recipient_account_id=account_id,
                recipient_territory=recipient_territory,
                probe=office.probe,
            ),
            metadata,
            filename=received.filename,
            sha256=document.sha256,
            size=document.size,
            at=now,
        )
        leave_used = False
        request_print = fingerprint(
            metadata, document.sha256, received.leave.sha256 if received.leave else None
        )
        try:
            async with in_span("store transaction", ctx.outbox.transaction()) as tx:
                # Read in the writing transaction: an end that reached us since the registry
                # answered either commits before it and refuses the act, or after it and
                # finds the act served (and flags it).
                late = ended_by(await declaration_of(tx, metadata.declaration_id), now)
                if late is not None:
                    raise ConsentRefused(late)
                # An account that cannot log in is never served: the act is refused, or held
                # until the reinstatement when the office asked for scheduling.
                suspended = await account_suspended(tx, account_id)
                if suspended and not metadata.schedule_if_closed:
                    raise RecipientSuspended
                if not window.open and received.leave is None and not metadata.schedule_if_closed:
                    raise WindowClosed(window)
                if suspended:
                    act = await self._hold(tx, act, now)
                    outcome = Outcome(ACCEPTED, DepositView.of(act))
                elif window.open or received.leave is not None:
                    if not window.open and received.leave is not None:
                        leave = received.leave
                        act, used = act.with_leave(
                            JudgeLeave(
                                object_id=leave.object_id,
                                sha256=leave.sha256,
                                size=leave.size,
                                order=metadata.judge_leave,
                            ),
                            window,
                            now,
                        )
                        leave_used = True
                        await bind_leave(tx, office, act, now)
                        await ctx.acts_vault.keep(tx, leave)
                        await ctx.emit(tx, act, used, actor=act.office_actor)
                    act = await serve(ctx, tx, act, answer, now)
                    outcome = Outcome(CREATED, DepositView.of(act))
                else:
                    act = await self._schedule(tx, act, window, now)
                    outcome = Outcome(ACCEPTED, DepositView.of(act))
                await ctx.acts_vault.keep(tx, document)
                await self.keys.keep(
                    tx,
                    IdempotencyRecord(
                        id=key_id,
                        metadata_hash=metadata_hash(metadata),
                        fingerprint=request_print,
                        status_code=outcome.status_code,
                        body=outcome.view,
                        created_at=now,
                    ),
                )
        except ConsentRefused as refused:
            # Journaled after the rollback, in a transaction of its own.
            reasons = [refused.refusal.reason()]
            await self.rejections.journal(office, act_id, metadata, reasons, document.sha256)
            raise
        except WindowClosed:
            await self.rejections.window(office, act_id, metadata, window, document.sha256)
            raise
        except RecipientSuspended:
            await self.rejections.suspended(office, act_id, metadata, document.sha256)
            raise
        except JudgeLeaveAlreadyUsed:
            # Another office's act took this leave while the document uploaded.
            await self.rejections.leave_already_used(office, act_id, metadata, document.sha256)
            raise
        except DuplicateKeyError:
            # The same key committed concurrently: this upload is the duplicate.
            await ctx.acts_vault.discard(received.stored)
            received.stored.clear()
            previous = await self.keys.get(key_id)
            if previous is None:
                # Another office's act may have bound the same leave concurrently.
                kept_leave = received.leave
                if kept_leave and await bound_elsewhere(ctx.store, office, kept_leave.sha256):
                    raise JudgeLeaveAlreadyUsed from None
                raise
            if previous.fingerprint != request_print:
                raise IdempotencyKeyReused from None
            return previous.outcome()
        if received.leave is not None and not leave_used:
            await ctx.acts_vault.discard([received.leave.object_id])
        received.stored.clear()
        count_outcome(act)
        annotate(outcome=act.status.value)
        return outcome

    async def _schedule(self, tx: Transaction, act: Act, window: WindowCheck, now: datetime) -> Act:
        ctx = self.ctx
        scheduled, event = act.schedule(window)
        stored = await ctx.acts.add(tx, scheduled, now)
        envelope = await ctx.emit(tx, act, event, actor=act.office_actor)
        await ctx.signer.attest(
            tx,
            act,
            kind=EvidenceType.SUBMISSION_ACCEPTANCE,
            instant=now,
            actors={
                "sender": act.office_actor,
                "sender_client": act.office_client,
                "recipient": act.recipient_actor,
            },
            details={
                **submission_details(scheduled),
                "window_closures": [c.model_dump() for c in window.closures],
            },
            event_id=envelope.event_id,
        )
        return stored

    async def _hold(self, tx: Transaction, act: Act, now: datetime) -> Act:
        """Accepted for a suspended account: held until its reinstatement."""
        ctx = self.ctx
        held, event = act.hold(now)
        stored = await ctx.acts.add(tx, held, now)
        await note_hold(tx, act.recipient_account_id, to_iso(now))
        envelope = await ctx.emit(tx, act, event, actor=act.office_actor)
        await ctx.signer.attest(
            tx,
            act,
            kind=EvidenceType.SUBMISSION_ACCEPTANCE,
            instant=now,
            actors={
                "sender": act.office_actor,
                "sender_client": act.office_client,
                "recipient": act.recipient_actor,
            },
            details={**submission_details(held), "held": "recipient_suspended"},
            event_id=envelope.event_id,
        )
        return stored
