"""Use cases of the delivery gateway: deposit an act, schedule it, hand it over, finalise its
quality of service, show it to its office, and prove each step.

The act store is one `acts` collection (state, dates, quality) beside `act_keys` (wrapped DEKs,
for crypto-shredding), `evidence` (signed records), `notifications` (from notify) and, for the
replies a later step adds, a `replies` collection keyed by act id. Every state change commits
with its outbox events and evidence in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError

from delivery.domain import (
    ActMetadata,
    ConsentRefusal,
    ContentError,
    PdfInspector,
    WindowCheck,
    check_consent,
    check_window,
    determine_quality,
    safe_filename,
)
from delivery.evidence import EVIDENCE, EvidenceSigner, EvidenceType
from delivery.parties import ACTS, DECLARATIONS, NOTIFICATIONS, Office
from delivery.receipts import Receipt, ReceiptReason, ReceiptSource
from delivery.vault import ACT_KEYS
from shared.canonical import canonical_json
from shared.clock import Clock
from shared.contracts.consent import ActNature
from shared.contracts.delivery import (
    ActHandedOverV1,
    ActRejectedV1,
    ActScheduledV1,
    ActServedV1,
    JudgeLeaveUsedV1,
    LettreSimpleDueV1,
    RejectionReason,
    ServiceQuality,
    ServiceQualityDeterminedV1,
)
from shared.contracts.envelope import Envelope, EventPayload
from shared.ids import new_id
from shared.legal_calendar import ServiceZones, Territory, end_of_legal_day, legal_date
from shared.messaging.outbox import Outbox
from shared.multipart import MultipartError, MultipartReader, PartHeaders
from shared.store.port import (
    DocumentStore,
    DuplicateKeyError,
    Index,
    Transaction,
    VersionConflictError,
    from_iso,
    to_iso,
)
from shared.vault import PENDING_INDEX, EncryptedObjects, StoredObject, TooLargeError

log = logging.getLogger(__name__)

IDEMPOTENCY: Final = "idempotency"
REPLIES: Final = "replies"
METADATA_PART: Final = "metadata"
LEAVE_PART: Final = "judge_leave"
DOCUMENT_PART: Final = "document"

INDEXES: Final = (
    Index(ACTS, ("office_id", "cursor")),
    Index(ACTS, ("recipient_account_id", "served_at")),
    Index(ACTS, ("status", "finalise_after")),
    Index(ACTS, ("status", "scheduled_for")),
    Index(EVIDENCE, ("act_id", "instant")),
    Index(NOTIFICATIONS, ("act_id",)),
    Index(REPLIES, ("act_id",)),
    Index(IDEMPOTENCY, ("created_at",)),
    PENDING_INDEX,
)


class ActStatus:
    SCHEDULED: Final = "scheduled"
    SERVED: Final = "served"
    REJECTED: Final = "rejected"
    ERASED: Final = "erased"
    """A tombstone: the account's acts were crypto-shredded (`delivery.erasure`)."""
    ALL: Final = frozenset({"scheduled", "served", "rejected", "erased"})


EnvelopeFactory = Callable[..., Envelope]

# Records made at the same instant are listed in the order the steps happen.
_LIFECYCLE_ORDER: Final = {
    kind.value: rank
    for rank, kind in enumerate(
        (
            EvidenceType.SUBMISSION_ACCEPTANCE,
            EvidenceType.SUBMISSION_REJECTION,
            EvidenceType.CONTENT_CONSIGNMENT,
            EvidenceType.CONSIGNMENT_NOTIFICATION,
            EvidenceType.CONSIGNMENT_NOTIFICATION_FAILURE,
            EvidenceType.CONTENT_HANDOVER,
            EvidenceType.QUALITY_DETERMINATION,
            EvidenceType.RELAY_TO_NON_ERDS,
            EvidenceType.REPLY_RECEIVED,
        )
    )
}

# -- errors the HTTP adapter maps ------------------------------------------------------------


class SubmissionError(ValueError):
    """The upload is malformed or incomplete (422); `errors` are safe to return."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        self.message = message
        self.errors = errors or []
        super().__init__(message)


class ConsentRefusedError(Exception):
    def __init__(self, refusal: ConsentRefusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.detail)


class WindowClosedError(Exception):
    def __init__(self, window: WindowCheck) -> None:
        self.window = window
        super().__init__("the CPC 664 service window is closed")


class DocumentRefusedError(Exception):
    def __init__(self, part: str, error: ContentError) -> None:
        self.part = part
        self.error = error
        super().__init__(error.detail)


class IdempotencyConflictError(Exception):
    """The key was used for another request (422)."""


class ActNotFoundError(LookupError):
    pass


class ActErasedError(LookupError):
    """The act was crypto-shredded: only its tombstone remains (410 `act-erased`)."""

    def __init__(self, act: Mapping[str, Any]) -> None:
        self.act_id = str(act["_id"])
        self.erased_at = str(act["erased_at"])
        super().__init__(self.act_id)


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What `POST /v1/acts` answers (and answers again for the same key and body)."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass
class _Received:
    metadata: ActMetadata
    document: StoredObject | None = None
    leave: StoredObject | None = None
    filename: str | None = None
    stored: list[str] = field(default_factory=list)


def _fingerprint(metadata: ActMetadata, document_sha: str, leave_sha: str | None) -> str:
    return hashlib.sha256(
        canonical_json(
            {
                "metadata": metadata.fingerprint_fields(),
                "document": document_sha,
                "judge_leave": leave_sha,
            }
        )
    ).hexdigest()


def _metadata_hash(metadata: ActMetadata) -> str:
    return hashlib.sha256(canonical_json(metadata.fingerprint_fields())).hexdigest()


def _with_cursor(act: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Stamp a change: `cursor` orders an office's acts by last change, then id."""
    updated = to_iso(now)
    act["updated_at"] = updated
    act["cursor"] = f"{updated}|{act['_id']}"
    return act


def _without_version(document: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    copy = dict(document)
    version = int(copy.pop("_version"))
    return copy, version


@dataclass(frozen=True)
class Limits:
    max_act_bytes: int
    max_leave_bytes: int
    max_metadata_bytes: int


class Gateway:
    """The acts' lifecycle: deposit, scheduling, handover, finalisation, views and evidence."""

    def __init__(
        self,
        store: DocumentStore,
        outbox: Outbox,
        clock: Clock,
        vault: EncryptedObjects,
        signer: EvidenceSigner,
        envelope: EnvelopeFactory,
        *,
        limits: Limits,
        service_zones: ServiceZones = ServiceZones.RECIPIENT_AND_OFFICE,
        portal_url: str = "http://127.0.0.1:8101/",
        idempotency_retention: timedelta = timedelta(hours=72),
        receipts: ReceiptSource | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.vault = vault
        self.signer = signer
        self._envelope = envelope
        self.limits = limits
        self._zones = service_zones
        self._portal_url = portal_url
        self._idempotency_retention = idempotency_retention
        self._receipts = receipts

    # -- deposit -----------------------------------------------------------------------------

    async def submit(
        self, office: Office, idempotency_key: str, reader: MultipartReader
    ) -> Outcome:
        """`POST /v1/acts`: read the metadata, check consent and window, stream the
        documents into the vault, and record the act — or replay the original outcome."""
        metadata = await self._read_metadata(reader)
        key_id = f"{office.office_id}:{idempotency_key}"
        previous = await self.store.get(IDEMPOTENCY, key_id)
        if previous is not None:
            return await self._replay(previous, metadata, reader)
        now = self.clock.now()
        act_id = new_id(now)
        declaration = await self.store.get(DECLARATIONS, metadata.declaration_id)
        refusal = check_consent(declaration, metadata.nature, now)
        if refusal is not None:
            await self._reject(office, act_id, metadata, [refusal.reason()], None)
            raise ConsentRefusedError(refusal)
        assert declaration is not None
        recipient_territory = Territory(declaration["territory"])
        received = _Received(metadata)
        try:
            part = await reader.next_part()
            if part is not None and part.name == LEAVE_PART and part.filename is not None:
                received.leave = await self._upload(
                    office, act_id, metadata, f"{act_id}-leave", part, reader, received, leave=True
                )
                part = await reader.next_part()
            if part is None or part.name != DOCUMENT_PART or part.filename is None:
                raise SubmissionError(
                    "after `metadata` (and an optional `judge_leave` file) comes the "
                    "`document` file part"
                )
            window = check_window(now, recipient_territory, office.territory, self._zones)
            if not window.open and received.leave is None and not metadata.schedule_if_closed:
                await self._reject_window(office, act_id, metadata, window)
                raise WindowClosedError(window)
            received.filename = safe_filename(part.filename)
            received.document = await self._upload(
                office, act_id, metadata, act_id, part, reader, received, leave=False
            )
            if await reader.next_part() is not None:
                raise SubmissionError("nothing may follow the `document` part")
            return await self._record(office, key_id, act_id, declaration, received)
        except MultipartError as error:
            await self.vault.discard(received.stored)
            raise SubmissionError(str(error)) from None
        except BaseException:
            await self.vault.discard(received.stored)
            raise

    async def _read_metadata(self, reader: MultipartReader) -> ActMetadata:
        try:
            part = await reader.next_part()
            if part is None or part.name != METADATA_PART or part.filename is not None:
                raise SubmissionError("the first part must be the JSON `metadata` field")
            raw = bytearray()
            async for chunk in reader.chunks():
                raw += chunk
                if len(raw) > self.limits.max_metadata_bytes:
                    raise SubmissionError("the `metadata` part is too large")
        except MultipartError as error:
            raise SubmissionError(str(error)) from None
        try:
            return ActMetadata.model_validate_json(bytes(raw))
        except ValidationError as error:
            # Where and why only: the input may be personal data and is not echoed back.
            errors = [
                {"loc": ["metadata", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in error.errors(include_input=False, include_url=False)
            ]
            raise SubmissionError("the `metadata` part is invalid", errors) from None

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
        limit = self.limits.max_leave_bytes if leave else self.limits.max_act_bytes
        received.stored.append(object_id)
        try:
            return await self.vault.upload(
                object_id, reader.chunks(), limit=limit, inspector=PdfInspector()
            )
        except ContentError as error:
            name = LEAVE_PART if leave else DOCUMENT_PART
            reason = RejectionReason(
                code=error.problem.value.replace("-", "_"), detail=f"{name}: {error.detail}"
            )
            await self._reject(office, act_id, metadata, [reason], None)
            raise DocumentRefusedError(name, error) from None

    async def _record(
        self,
        office: Office,
        key_id: str,
        act_id: str,
        declaration: Mapping[str, Any],
        received: _Received,
    ) -> Outcome:
        assert received.document is not None
        metadata = received.metadata
        document = received.document
        # The legal date is the deposit instant, now that the act can be made available: the
        # consent and the window are checked again at that instant (an upload takes time), in
        # the transaction that records the act.
        now = self.clock.now()
        recipient_territory = Territory(declaration["territory"])
        window = check_window(now, recipient_territory, office.territory, self._zones)
        act: dict[str, Any] = {
            "_id": act_id,
            "office_id": office.office_id,
            "office_name": office.name,
            "office_email": office.email,
            "office_territory": office.territory.value,
            "office_client": office.client,
            "declaration_id": metadata.declaration_id,
            "recipient_account_id": declaration["account_id"],
            "recipient_territory": recipient_territory.value,
            "nature": metadata.nature.value,
            "title": metadata.title,
            "requester_name": metadata.requester_name,
            "office_reference": metadata.office_reference,
            "filename": received.filename,
            "sha256": document.sha256,
            "size": document.size,
            "submitted_at": to_iso(now),
            "scheduled_for": None,
            "served_at": None,
            "legal_local_time": None,
            "finalise_after": None,
            "handed_over_at": None,
            "quality": None,
            "determined_at": None,
            "lettre_simple_due_on": None,
            "judge_leave": None,
            "rejected_reasons": None,
        }
        fingerprint = _fingerprint(
            metadata, document.sha256, received.leave.sha256 if received.leave else None
        )
        try:
            async with self.outbox.transaction() as tx:
                # Read in the writing transaction: a revocation either commits before it and
                # refuses the act, or after it and finds the act served (and one store round
                # trip fewer per deposit).
                current = await tx.get(DECLARATIONS, metadata.declaration_id)
                refusal = check_consent(current, metadata.nature, now)
                if refusal is not None:
                    raise ConsentRefusedError(refusal)
                if not window.open and received.leave is None and not metadata.schedule_if_closed:
                    raise WindowClosedError(window)
                if window.open or received.leave is not None:
                    if not window.open and received.leave is not None:
                        act["judge_leave"] = {
                            "object_id": received.leave.object_id,
                            "sha256": received.leave.sha256,
                            "size": received.leave.size,
                        }
                        await self.vault.keep(tx, received.leave)
                        await self._journal_leave(tx, act, received.leave, window, now)
                    await self._serve(tx, act, declaration, now, accepted=True)
                    outcome = Outcome(201, self._deposit_view(act))
                else:
                    act["status"] = ActStatus.SCHEDULED
                    act["scheduled_for"] = to_iso(window.next_opening)
                    _with_cursor(act, now)
                    await tx.insert(ACTS, act)
                    await self._accepted_scheduled(tx, act, window, now)
                    outcome = Outcome(202, self._deposit_view(act))
                await self.vault.keep(tx, document)
                await tx.insert(
                    IDEMPOTENCY,
                    {
                        "_id": key_id,
                        "metadata_hash": _metadata_hash(metadata),
                        "fingerprint": fingerprint,
                        "status_code": outcome.status_code,
                        "body": outcome.body,
                        "created_at": to_iso(now),
                    },
                )
        except ConsentRefusedError as refused:
            # Journaled after the rollback, in a transaction of its own.
            reasons = [refused.refusal.reason()]
            await self._reject(office, act_id, metadata, reasons, document.sha256)
            raise
        except WindowClosedError:
            await self._reject_window(office, act_id, metadata, window, document.sha256)
            raise
        except DuplicateKeyError:
            # The same key committed concurrently: this upload is the duplicate.
            await self.vault.discard(received.stored)
            received.stored.clear()
            previous = await self.store.get(IDEMPOTENCY, key_id)
            if previous is None:
                raise
            if previous["fingerprint"] != fingerprint:
                raise IdempotencyConflictError from None
            return Outcome(int(previous["status_code"]), dict(previous["body"]), replayed=True)
        if received.leave is not None and act["judge_leave"] is None:
            await self.vault.discard([received.leave.object_id])
        received.stored.clear()
        return outcome

    async def _replay(
        self, previous: Mapping[str, Any], metadata: ActMetadata, reader: MultipartReader
    ) -> Outcome:
        """Same key: the original outcome if the body is the same, else a conflict. The files
        are hashed as they stream by, never stored."""
        if previous["metadata_hash"] != _metadata_hash(metadata):
            raise IdempotencyConflictError
        leave_sha: str | None = None
        document_sha: str | None = None
        try:
            while (part := await reader.next_part()) is not None:
                digest = hashlib.sha256()
                size = 0
                limit = (
                    self.limits.max_leave_bytes
                    if part.name == LEAVE_PART
                    else self.limits.max_act_bytes
                )
                async for chunk in reader.chunks():
                    size += len(chunk)
                    if size > limit:
                        raise TooLargeError(limit)
                    digest.update(chunk)
                if part.name == LEAVE_PART:
                    leave_sha = digest.hexdigest()
                elif part.name == DOCUMENT_PART:
                    document_sha = digest.hexdigest()
                else:
                    raise IdempotencyConflictError
        except MultipartError as error:
            raise SubmissionError(str(error)) from None
        if (
            document_sha is None
            or _fingerprint(metadata, document_sha, leave_sha) != previous["fingerprint"]
        ):
            raise IdempotencyConflictError
        return Outcome(int(previous["status_code"]), dict(previous["body"]), replayed=True)

    def _deposit_view(self, act: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": act["_id"],
            "status": act["status"],
            "submitted_at": act["submitted_at"],
            "scheduled_for": act["scheduled_for"],
            "served_at": act["served_at"],
            "legal_local_time": act["legal_local_time"],
            "recipient_territory": act["recipient_territory"],
            "sha256": act["sha256"],
            "size": act["size"],
            "judge_leave_used": act["judge_leave"] is not None,
        }

    async def _serve(
        self,
        tx: Transaction,
        act: dict[str, Any],
        declaration: Mapping[str, Any],
        now: datetime,
        *,
        accepted: bool,
    ) -> None:
        """Make the act available at `now` (CPC 664-1: its legal date and hour), with its
        `act-served` event and `ContentConsignment` evidence, inserting or updating the row."""
        territory = Territory(act["recipient_territory"])
        act["status"] = ActStatus.SERVED
        act["served_at"] = to_iso(now)
        act["legal_local_time"] = now.astimezone(territory.time_zone).isoformat()
        act["finalise_after"] = to_iso(end_of_legal_day(now, territory))
        _with_cursor(act, now)
        if "_version" in act:
            row, version = _without_version(act)
            await tx.replace(ACTS, row, expected_version=version)
        else:
            await tx.insert(ACTS, act)
        served = ActServedV1(
            act_id=act["_id"],
            declaration_id=act["declaration_id"],
            recipient_account_id=act["recipient_account_id"],
            recipient_email=declaration["email"],
            recipient_mobile=declaration.get("mobile"),
            act_nature=act["nature"],
            office_id=act["office_id"],
            office_name=act["office_name"],
            served_at=now,
            portal_url=self._portal_url,
            act_sha256=act["sha256"],
            submitted_at=from_iso(act["submitted_at"]),
        )
        envelope = await self._emit(tx, served, act, actor=f"office:{act['office_id']}")
        actors = {
            "sender": f"office:{act['office_id']}",
            "sender_client": str(act["office_client"]),
            "recipient": f"account:{act['recipient_account_id']}",
        }
        if accepted:
            await self.signer.attest(
                tx,
                act,
                kind=EvidenceType.SUBMISSION_ACCEPTANCE,
                instant=from_iso(act["submitted_at"]),
                actors=actors,
                details=self._submission_details(act),
                event_id=envelope.event_id,
            )
        await self.signer.attest(
            tx,
            act,
            kind=EvidenceType.CONTENT_CONSIGNMENT,
            instant=now,
            actors=actors,
            details={
                "served_at": act["served_at"],
                "legal_local_time": act["legal_local_time"],
                "recipient_territory": act["recipient_territory"],
                "office_territory": act["office_territory"],
                "judge_leave_sha256": (act["judge_leave"] or {}).get("sha256"),
            },
            event_id=envelope.event_id,
        )

    def _submission_details(self, act: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "declaration_id": act["declaration_id"],
            "nature": act["nature"],
            "office_reference": act["office_reference"],
            "size": act["size"],
            "submitted_at": act["submitted_at"],
            "scheduled_for": act["scheduled_for"],
        }

    async def _accepted_scheduled(
        self, tx: Transaction, act: dict[str, Any], window: WindowCheck, now: datetime
    ) -> None:
        scheduled = ActScheduledV1(
            act_id=act["_id"],
            declaration_id=act["declaration_id"],
            office_id=act["office_id"],
            act_nature=act["nature"],
            act_sha256=act["sha256"],
            submitted_at=now,
            scheduled_for=window.next_opening,
            closures=list(window.closures),
        )
        envelope = await self._emit(tx, scheduled, act, actor=f"office:{act['office_id']}")
        await self.signer.attest(
            tx,
            act,
            kind=EvidenceType.SUBMISSION_ACCEPTANCE,
            instant=now,
            actors={
                "sender": f"office:{act['office_id']}",
                "sender_client": str(act["office_client"]),
                "recipient": f"account:{act['recipient_account_id']}",
            },
            details={
                **self._submission_details(act),
                "window_closures": [c.model_dump() for c in window.closures],
            },
            event_id=envelope.event_id,
        )

    async def _journal_leave(
        self,
        tx: Transaction,
        act: Mapping[str, Any],
        leave: StoredObject,
        window: WindowCheck,
        now: datetime,
    ) -> None:
        await self._emit(
            tx,
            JudgeLeaveUsedV1(
                act_id=act["_id"],
                office_id=act["office_id"],
                leave_sha256=leave.sha256,
                leave_size=leave.size,
                used_at=now,
                closures=list(window.closures),
            ),
            act,
            actor=f"office:{act['office_id']}",
        )

    async def _emit(
        self, tx: Transaction, payload: EventPayload, act: Mapping[str, Any], *, actor: str
    ) -> Envelope:
        envelope: Envelope = self._envelope(payload, subject=f"act:{act['_id']}", actor=actor)
        await self.outbox.add(tx, envelope)
        return envelope

    async def _reject(
        self,
        office: Office,
        act_id: str,
        metadata: ActMetadata,
        reasons: Sequence[RejectionReason],
        sha256: str | None,
    ) -> None:
        """Journal a refused submission (`SubmissionRejection`) with its reasons."""
        rejected = ActRejectedV1(
            office_id=office.office_id,
            act_id=act_id,
            declaration_id=metadata.declaration_id,
            act_nature=metadata.nature.value,
            act_sha256=sha256,
            rejected_at=self.clock.now(),
            reasons=list(reasons),
        )
        await self.outbox.publish_alone(
            self._envelope(rejected, subject=f"act:{act_id}", actor=f"office:{office.office_id}")
        )

    async def _reject_window(
        self,
        office: Office,
        act_id: str,
        metadata: ActMetadata,
        window: WindowCheck,
        sha256: str | None = None,
    ) -> None:
        reasons = [
            RejectionReason(
                code="window_closed",
                detail=f"CPC 664: closed in {c.territory} ({c.reason}); "
                f"next opening {to_iso(window.next_opening)}",
            )
            for c in window.closures
        ]
        await self._reject(office, act_id, metadata, reasons, sha256)

    # -- scheduled deposits -------------------------------------------------------------------

    async def deposit_scheduled(self) -> int:
        """Deposit every scheduled act whose opening has come; the legal date is now. An act
        whose consent ended meanwhile is rejected and its content shredded. Safe to run on
        several replicas: each act changes under optimistic concurrency."""
        done = 0
        while True:
            now = self.clock.now()
            due = await self.store.find(
                ACTS,
                {"status": ActStatus.SCHEDULED, "scheduled_for": {"$lte": to_iso(now)}},
                sort=[("scheduled_for", 1)],
                limit=100,
            )
            if not due:
                return done
            progressed = False
            for act in due:
                try:
                    if await self._deposit_one(act, now):
                        done += 1
                        progressed = True
                except VersionConflictError:
                    continue
            if not progressed:
                return done

    async def _deposit_one(self, act: dict[str, Any], now: datetime) -> bool:
        declaration = await self.store.get(DECLARATIONS, act["declaration_id"])
        refusal = check_consent(declaration, ActNature(act["nature"]), now)
        if refusal is not None or declaration is None:
            await self._reject_scheduled(act, refusal, now)
            return True
        window = check_window(
            now,
            Territory(act["recipient_territory"]),
            Territory(act["office_territory"]),
            self._zones,
        )
        if not window.open:
            row, version = _without_version(act)
            row["scheduled_for"] = to_iso(window.next_opening)
            await self.store.replace(ACTS, _with_cursor(row, now), expected_version=version)
            return False
        async with self.outbox.transaction() as tx:
            # Again in the writing transaction: a revocation committed since the read above
            # refuses the act instead of being overtaken by it.
            current = await tx.get(DECLARATIONS, act["declaration_id"])
            late_refusal = check_consent(current, ActNature(act["nature"]), now)
            if late_refusal is None and current is not None:
                await self._serve(tx, act, current, now, accepted=False)
                return True
        await self._reject_scheduled(act, late_refusal, now)
        return True

    async def _reject_scheduled(
        self, act: dict[str, Any], refusal: ConsentRefusal | None, now: datetime
    ) -> None:
        reasons = [
            refusal.reason()
            if refusal
            else RejectionReason(code="consent_unknown", detail="no consent known")
        ]
        row, version = _without_version(act)
        row["status"] = ActStatus.REJECTED
        row["rejected_reasons"] = [r.model_dump() for r in reasons]
        async with self.outbox.transaction() as tx:
            await tx.replace(ACTS, _with_cursor(row, now), expected_version=version)
            envelope = await self._emit(
                tx,
                ActRejectedV1(
                    office_id=act["office_id"],
                    act_id=act["_id"],
                    declaration_id=act["declaration_id"],
                    act_nature=act["nature"],
                    act_sha256=act["sha256"],
                    rejected_at=now,
                    reasons=reasons,
                ),
                act,
                actor="service:delivery",
            )
            await self.signer.attest(
                tx,
                act,
                kind=EvidenceType.SUBMISSION_REJECTION,
                instant=now,
                actors={"sender": f"office:{act['office_id']}"},
                details={"reasons": [r.model_dump() for r in reasons]},
                event_id=envelope.event_id,
            )
            # Never served: its content is shredded (the wrapped DEK goes, the object after).
            await tx.delete(ACT_KEYS, act["_id"])
        await self.vault.discard([act["_id"]])

    # -- recipient ---------------------------------------------------------------------------

    async def inbox(self, account_id: str) -> list[dict[str, Any]]:
        """The recipient's served acts, newest first."""
        acts = await self.store.find(
            ACTS,
            {"recipient_account_id": account_id, "status": ActStatus.SERVED},
            sort=[("served_at", -1)],
        )
        return [self.recipient_view(act) for act in acts]

    async def recipient_act(self, account_id: str, act_id: str) -> dict[str, Any]:
        act = await self.store.get(ACTS, act_id)
        if act is None or act["recipient_account_id"] != account_id:
            raise ActNotFoundError(act_id)
        if act["status"] == ActStatus.ERASED and act.get("served_at"):
            raise ActErasedError(act)
        if act["status"] != ActStatus.SERVED:
            raise ActNotFoundError(act_id)
        return act

    def recipient_view(self, act: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": act["_id"],
            "status": act["status"],
            "nature": act["nature"],
            "title": act["title"],
            "requester_name": act["requester_name"],
            "office_name": act["office_name"],
            "served_at": act["served_at"],
            "legal_local_time": act["legal_local_time"],
            "read": act["handed_over_at"] is not None,
            "handed_over_at": act["handed_over_at"],
            "quality": act["quality"],
            "size": act["size"],
            "sha256": act["sha256"],
        }

    async def open_content(
        self, account_id: str, act_id: str
    ) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        """The act's plaintext for its recipient. The first opening is the *prise de
        connaissance*: recorded once (instant, event, `ContentHandover` evidence) after the
        content is known to be readable and before it is sent."""
        act = await self.recipient_act(account_id, act_id)
        content = await self.vault.open(act_id)
        for _attempt in range(5):
            if act["handed_over_at"] is not None:
                break
            try:
                act = await self._hand_over(act)
                break
            except VersionConflictError:
                act = await self.recipient_act(account_id, act_id)
        return act, content

    async def _hand_over(self, act: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        row, version = _without_version(act)
        row["handed_over_at"] = to_iso(now)
        async with self.outbox.transaction() as tx:
            stored = await tx.replace(ACTS, _with_cursor(row, now), expected_version=version)
            envelope = await self._emit(
                tx,
                ActHandedOverV1(
                    act_id=act["_id"],
                    office_id=act["office_id"],
                    recipient_account_id=act["recipient_account_id"],
                    act_sha256=act["sha256"],
                    served_at=from_iso(act["served_at"]),
                    handed_over_at=now,
                ),
                act,
                actor=f"account:{act['recipient_account_id']}",
            )
            await self.signer.attest(
                tx,
                act,
                kind=EvidenceType.CONTENT_HANDOVER,
                instant=now,
                actors={"recipient": f"account:{act['recipient_account_id']}"},
                details={
                    "served_at": act["served_at"],
                    "handed_over_local_time": now.astimezone(
                        Territory(act["recipient_territory"]).time_zone
                    ).isoformat(),
                },
                event_id=envelope.event_id,
            )
        return stored

    # -- quality of service -------------------------------------------------------------------

    async def finalise_due(self) -> int:
        """CPC 662-1 at the end of each sending day: finalise every served act whose legal day
        is over, however long ago (catch-up after downtime). Each act commits alone with its
        events; a concurrent run or handover makes the version check fail and the act is left
        to the next run, so nothing is finalised twice and nothing is lost."""
        finalised = 0
        while True:
            now = self.clock.now()
            due = await self.store.find(
                ACTS,
                {
                    "status": ActStatus.SERVED,
                    "quality": None,
                    "finalise_after": {"$lte": to_iso(now)},
                },
                sort=[("finalise_after", 1)],
                limit=200,
            )
            progressed = False
            for act in due:
                try:
                    await self._finalise(act, now)
                except VersionConflictError:
                    continue
                finalised += 1
                progressed = True
            if not due or not progressed:
                return finalised

    async def _finalise(self, act: dict[str, Any], now: datetime) -> None:
        territory = Territory(act["recipient_territory"])
        served_at = from_iso(act["served_at"])
        handed = from_iso(act["handed_over_at"]) if act["handed_over_at"] else None
        decision = determine_quality(served_at, handed, territory)
        row, version = _without_version(act)
        row["quality"] = decision.quality.value
        row["determined_at"] = to_iso(now)
        due_on = decision.lettre_simple_due_on
        row["lettre_simple_due_on"] = due_on.isoformat() if due_on else None
        async with self.outbox.transaction() as tx:
            await tx.replace(ACTS, _with_cursor(row, now), expected_version=version)
            determined = await self._emit(
                tx,
                ServiceQualityDeterminedV1(
                    act_id=act["_id"],
                    office_id=act["office_id"],
                    quality=decision.quality,
                    served_at=served_at,
                    handed_over_at=handed
                    if decision.quality is ServiceQuality.A_PERSONNE
                    else None,
                    determined_at=now,
                    lettre_simple_due_on=due_on,
                ),
                act,
                actor="service:delivery",
            )
            details: dict[str, Any] = {
                "quality": decision.quality.value,
                "served_at": act["served_at"],
                "sending_day": legal_date(served_at, territory).isoformat(),
                "territory": territory.value,
            }
            if decision.quality is ServiceQuality.A_PERSONNE:
                assert handed is not None
                details["cognisance_at"] = act["handed_over_at"]
                details["cognisance_local_time"] = handed.astimezone(
                    territory.time_zone
                ).isoformat()
            await self.signer.attest(
                tx,
                act,
                kind=EvidenceType.QUALITY_DETERMINATION,
                instant=now,
                actors={"recipient": f"account:{act['recipient_account_id']}"},
                details=details,
                event_id=determined.event_id,
            )
            if due_on is not None:
                letter = await self._emit(
                    tx,
                    LettreSimpleDueV1(
                        act_id=act["_id"],
                        office_id=act["office_id"],
                        office_email=act["office_email"],
                        act_nature=act["nature"],
                        requester_name=act["requester_name"],
                        served_at=served_at,
                        due_on=due_on,
                    ),
                    act,
                    actor="service:delivery",
                )
                await self.signer.attest(
                    tx,
                    act,
                    kind=EvidenceType.RELAY_TO_NON_ERDS,
                    instant=now,
                    actors={"sender": f"office:{act['office_id']}"},
                    details={"lettre_simple_due_on": due_on.isoformat()},
                    event_id=letter.event_id,
                )

    # -- office views -------------------------------------------------------------------------

    async def office_act(self, office_id: str, act_id: str) -> dict[str, Any]:
        act = await self.store.get(ACTS, act_id)
        if act is None or act["office_id"] != office_id:
            raise ActNotFoundError(act_id)
        return act

    async def office_view(self, act: Mapping[str, Any]) -> dict[str, Any]:
        if act["status"] == ActStatus.ERASED:
            return self.tombstone_view(act)
        notifications = await self.store.find(
            NOTIFICATIONS, {"act_id": act["_id"]}, sort=[("at", 1)]
        )
        replies = await self.store.find(REPLIES, {"act_id": act["_id"]}, sort=[("_id", 1)])
        return {
            **self._deposit_view(act),
            "declaration_id": act["declaration_id"],
            "nature": act["nature"],
            "title": act["title"],
            "requester_name": act["requester_name"],
            "office_reference": act["office_reference"],
            "handed_over_at": act["handed_over_at"],
            "quality": act["quality"],
            "determined_at": act["determined_at"],
            "lettre_simple_due_on": act["lettre_simple_due_on"],
            "rejected_reasons": act["rejected_reasons"],
            "updated_at": act["updated_at"],
            "notifications": [
                {
                    "id": n["_id"],
                    "kind": n["kind"],
                    "channel": n["channel"],
                    "status": n["status"],
                    "at": n["at"],
                    "recipient_masked": n["recipient_masked"],
                }
                for n in notifications
            ],
            "replies": [{"id": r["_id"], "received_at": r.get("received_at")} for r in replies],
        }

    @staticmethod
    def tombstone_view(act: Mapping[str, Any]) -> dict[str, Any]:
        """What remains of an erased act: ids, fingerprint, dates and quality."""
        return {
            "id": act["_id"],
            "status": act["status"],
            "submitted_at": act["submitted_at"],
            "served_at": act["served_at"],
            "handed_over_at": act["handed_over_at"],
            "quality": act["quality"],
            "determined_at": act["determined_at"],
            "sha256": act["sha256"],
            "size": act["size"],
            "erased_at": act["erased_at"],
            "replies": [{"id": reply_id} for reply_id in act.get("reply_ids") or []],
            "updated_at": act["updated_at"],
        }

    async def office_acts(
        self,
        office_id: str,
        *,
        since: datetime | None,
        status: str | None,
        after: str | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """An office's acts by last change (`updated_at`, then id), from `since` or after a
        cursor; returns a page and the cursor of the next one (None at the end)."""
        where: dict[str, Any] = {"office_id": office_id}
        if status is not None:
            where["status"] = status
        if after is not None:
            where["cursor"] = {"$gt": after}
        elif since is not None:
            where["cursor"] = {"$gte": to_iso(since)}
        rows = await self.store.find(ACTS, where, sort=[("cursor", 1)], limit=limit + 1)
        page = rows[:limit]
        next_cursor = page[-1]["cursor"] if len(rows) > limit else None
        return [await self.office_view(act) for act in page], next_cursor

    # -- evidence -----------------------------------------------------------------------------

    async def evidence_set(self, act: Mapping[str, Any]) -> dict[str, Any]:
        """The act's signed evidence set; each record carries the audit receipt of the event
        it rests on (`receipt`, `journal_index`) or `receipt: null` and `receipt_reason`."""
        rows = await self.store.find(EVIDENCE, {"act_id": act["_id"]}, sort=[("instant", 1)])
        records = sorted(
            (row["record"] for row in rows),
            key=lambda r: (r["instant"], _LIFECYCLE_ORDER.get(r["type"], 99)),
        )
        receipts: dict[str, Receipt] = {}
        if self._receipts is not None:
            receipts = await self._receipts.receipts(
                f"act:{act['_id']}", {r["event_id"] for r in records if r.get("event_id")}
            )
        unconfigured = Receipt(None, None, ReceiptReason.UNREACHABLE)
        with_receipts = []
        for record in records:
            event_id = record.get("event_id")
            found = (
                receipts.get(event_id, unconfigured)
                if event_id
                else Receipt(None, None, ReceiptReason.NO_EVENT)
            )
            with_receipts.append(
                {
                    **record,
                    "journal_index": found.index,
                    "receipt": found.proof,
                    "receipt_reason": found.reason,
                }
            )
        return self.signer.evidence_set(act["_id"], act["sha256"], with_receipts, self.clock.now())

    # -- housekeeping -------------------------------------------------------------------------

    async def forget_idempotency_keys(self) -> int:
        cutoff = to_iso(self.clock.now() - self._idempotency_retention)
        old = await self.store.find(IDEMPOTENCY, {"created_at": {"$lt": cutoff}}, limit=1000)
        for row in old:
            await self.store.delete(IDEMPOTENCY, row["_id"])
        return len(old)
