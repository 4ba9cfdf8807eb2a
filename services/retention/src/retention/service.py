"""Retention's use cases: durable schedules from events, a scheduler safe with replicas, the
erasure protocol's bookkeeping, legal holds, and the erasure certificate.

Collections (retention's own store):

- `schedules`: one per (subject, purpose) — the id is the pair and a unique index backs it;
  `state` pending → fired; `held` mirrors the holds on its subjects; `due_at` ISO UTC.
- `holds`: one per judicial request (id, subject, reference); a subject is held while any
  of its holds remains.
- `erasures`: one per fired erasure schedule: who was asked, who confirmed, the acts delivery
  listed, the deadline and whether the overdue alert went out.
- `contacts`: the account's e-mail, captured from consent's and delivery's events *before* any
  purge (identity's termination event does not carry it); deleted once the certificate is out.
- `served_acts`: ids, fingerprints and dates of acts served to each account (no content), to
  check delivery's erasure list is complete.
- `certificates`: issued certificates (wrapped DEKs of the encrypted S3 objects, hashed
  download token, fingerprint); unique per erasure.

Firing is a claim: the scheduler replaces the schedule at the version it read (pending →
fired) in the same transaction as the erasure record and the request events (outbox), so two
replicas racing for one schedule produce one firing, and a crash before commit leaves it
pending for the next pass. Every pass first takes everything due (catch-up after downtime).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

from opentelemetry import metrics

from retention.certificate import (
    CertifiedAct,
    CertifiedStep,
    IssuedCertificate,
    certificate_document,
    sign_certificate,
)
from retention.domain import (
    ERASURE_PURPOSE,
    ConsentEnd,
    Purpose,
    account_erasure_due,
    audit_subjects,
    erasure_id_for,
    expected_participants,
    first_participants,
    missing_participants,
    registry_purge_due,
    schedule_id,
)
from retention.receipts import (
    NOT_CHECKPOINTED,
    NOT_JOURNALED,
    NoReceipts,
    ReceiptSet,
    ReceiptSource,
)
from shared.clock import Clock
from shared.contracts.consent import ConsentRevokedV1, DeclarationPurgedV1, DeclarationRegisteredV1
from shared.contracts.delivery import ActServedV1
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.identity import AccountCreatedV1, AccountTerminatedV1, TermsPublishedV1
from shared.contracts.retention import (
    AccountActsErasedV1,
    AccountActsErasureRequestedV1,
    AccountDeletedV1,
    AccountDeletionRequestedV1,
    CertificateUndeliverableV1,
    ContactDataPurgedV1,
    ContactDataPurgeRequestedV1,
    DeclarationPurgeRequestedV1,
    ErasureCertificateIssuedV1,
    ErasureCertifiedV1,
    ErasureOverdueV1,
    HoldLiftedV1,
    HoldPlacedV1,
    Participant,
    RegistryPurgeCompletedV1,
    SubjectKeysShreddedV1,
    SubjectKeysShredRequestedV1,
    TermsEffectiveV1,
)
from shared.crypto import KeyRing, SigningKeyRing, WrappedDek, decrypt_stream, encrypt_stream
from shared.french import PARIS
from shared.ids import new_id
from shared.messaging.consumer import PermanentFailure
from shared.messaging.outbox import Outbox
from shared.store.port import (
    DocumentStore,
    DuplicateKeyError,
    Index,
    Transaction,
    VersionConflictError,
    from_iso,
    to_iso,
)

log = logging.getLogger(__name__)

SCHEDULES: Final = "schedules"
HOLDS: Final = "holds"
ERASURES: Final = "erasures"
CONTACTS: Final = "contacts"
SERVED_ACTS: Final = "served_acts"
CERTIFICATES: Final = "certificates"

PENDING: Final = "pending"
FIRED: Final = "fired"
IN_PROGRESS: Final = "in_progress"
RECEIPTS_COMING: Final = frozenset({NOT_JOURNALED, NOT_CHECKPOINTED})
CONFIRMED: Final = "confirmed"  # every confirmation in; the certificate is being issued
COMPLETED: Final = "completed"

INDEXES: Final = (
    Index(SCHEDULES, ("subject", "purpose"), unique=True),
    Index(SCHEDULES, ("state", "held", "due_at")),
    Index(SCHEDULES, ("related_subject",)),
    Index(HOLDS, ("subject",)),
    Index(ERASURES, ("state", "deadline")),
    Index(ERASURES, ("declaration_id",)),
    Index(SERVED_ACTS, ("account_id",)),
    Index(CERTIFICATES, ("erasure_id",), unique=True),
)

EnvelopeFactory = Callable[..., Envelope]


class ObjectPort(Protocol):
    """What retention needs from the object store (`shared.objects.ObjectStore`)."""

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str = ...,
        metadata: Mapping[str, str] | None = ...,
    ) -> object: ...

    async def get(self, key: str) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...


class HoldNotFoundError(LookupError):
    pass


class CertificateNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class Policy:
    grace_months: int = 2
    registry_years: int = 5
    zone: ZoneInfo = PARIS
    confirmation_timeout: timedelta = timedelta(hours=72)
    batch_size: int = 100
    public_url: str = "http://127.0.0.1:8106"
    # A certificate waits this long for audit to checkpoint its confirmations (so that it
    # carries their receipts) before it is issued listing the missing ones; it looks again
    # every `receipt_recheck`.
    receipt_grace: timedelta = timedelta(minutes=15)
    receipt_recheck: timedelta = timedelta(seconds=5)


@dataclass(frozen=True)
class PlacedHold:
    hold_id: str
    created: bool


@dataclass(frozen=True)
class FireReport:
    fired: int
    lost_races: int


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class Retention:
    """The retention service's use cases."""

    def __init__(
        self,
        store: DocumentStore,
        outbox: Outbox,
        clock: Clock,
        envelope: EnvelopeFactory,
        *,
        signer: SigningKeyRing,
        keys: KeyRing,
        objects: ObjectPort,
        policy: Policy = Policy(),
        receipts: ReceiptSource | None = None,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._envelope = envelope
        self._signer = signer
        self._keys = keys
        self._objects = objects
        self._policy = policy
        self._receipts = receipts or NoReceipts()
        meter = metrics.get_meter("retention")
        self._overdue_counter = meter.create_counter(
            "retention.erasure_overdue", description="erasure alerts raised (timeout, mismatch)"
        )
        self.alerts_raised = 0  # the same count, readable in process (tests, health pages)
        # Set by the confirmations consumer; `issue_certificates_when_wanted` does the work, so
        # the consumer never waits on audit for receipts.
        self.certificates_wanted = asyncio.Event()
        # One issuance at a time in this process (the scheduler pass issues too): two would
        # both sign and store a certificate before one loses the claim.
        self._issuing = asyncio.Lock()

    # -- schedules from events (inside the inbox transaction) -----------------------------

    async def on_account_terminated(self, tx: Transaction, event: AccountTerminatedV1) -> None:
        due = account_erasure_due(event.terminated_at, self._policy.grace_months, self._policy.zone)
        await self._schedule(
            tx,
            Purpose.ACCOUNT_ERASURE,
            f"account:{event.account_id}",
            due,
            related=f"declaration:{event.declaration_id}" if event.declaration_id else None,
            data={
                "account_id": event.account_id,
                "declaration_id": event.declaration_id,
                "terminated_at": to_iso(event.terminated_at),
            },
        )
        # The address must survive identity's purge: pin it on the account now.
        await self._link_account(tx, event.account_id, event.declaration_id)

    async def on_consent_revoked(self, tx: Transaction, event: ConsentRevokedV1) -> None:
        await self.on_consent_ended(
            tx, event.declaration_id, event.account_id, event.revoked_at, ConsentEnd.REVOCATION
        )

    async def on_consent_ended(
        self,
        tx: Transaction,
        declaration_id: str,
        account_id: str | None,
        ended_at: datetime,
        end: ConsentEnd,
    ) -> None:
        """The registry keeps a declaration five years after its revocation (décret 2021-1625
        art. 21). A consent that ended otherwise — the account terminated, the duration over,
        the CGU refused — is no longer in force either: its data is not kept longer than a
        revoked one's. The first end recorded starts the five years."""
        due = registry_purge_due(ended_at, self._policy.registry_years, self._policy.zone)
        await self._schedule(
            tx,
            Purpose.REGISTRY_PURGE,
            f"declaration:{declaration_id}",
            due,
            related=f"account:{account_id}" if account_id else None,
            data={
                "account_id": account_id,
                "declaration_id": declaration_id,
                # When the consent ended, whatever the way (the purge request's `revoked_at`).
                "revoked_at": to_iso(ended_at),
                "ended_by": end.value,
            },
        )

    async def on_terms_published(self, tx: Transaction, event: TermsPublishedV1) -> None:
        await self._schedule(
            tx,
            Purpose.TERMS_EFFECTIVE,
            f"terms:v{event.terms_version}",
            event.effective_at,
            related=None,
            data={
                "terms_version": event.terms_version,
                "content_hash": event.content_hash,
                "effective_at": to_iso(event.effective_at),
            },
        )

    async def on_declaration_registered(
        self, tx: Transaction, event: DeclarationRegisteredV1
    ) -> None:
        await self._merge(tx, f"declaration:{event.declaration_id}", {"email": str(event.email)})

    async def on_account_created(self, tx: Transaction, event: AccountCreatedV1) -> None:
        await self._link_account(tx, event.account_id, event.declaration_id)

    async def on_act_served(self, tx: Transaction, event: ActServedV1) -> None:
        if await tx.get(SERVED_ACTS, event.act_id) is None:
            await tx.insert(
                SERVED_ACTS,
                {
                    "_id": event.act_id,
                    "account_id": event.recipient_account_id,
                    "sha256": event.act_sha256,
                    "served_at": to_iso(event.served_at),
                },
            )
        await self._merge(
            tx,
            f"account:{event.recipient_account_id}",
            {"email": str(event.recipient_email), "declaration_id": event.declaration_id},
        )

    async def _link_account(
        self, tx: Transaction, account_id: str, declaration_id: str | None
    ) -> None:
        if declaration_id:
            await self._merge(tx, f"account:{account_id}", {"declaration_id": declaration_id})

    async def _merge(self, tx: Transaction, key: str, values: Mapping[str, Any]) -> None:
        """Read-then-write in the inbox transaction; a concurrent insert of the same key makes
        the transaction fail and the consumer retry, which then reads it."""
        current = await tx.get(CONTACTS, key)
        if current is None:
            await tx.insert(CONTACTS, {"_id": key, **values})
            return
        merged = {**current, **{k: v for k, v in values.items() if v is not None}}
        if merged != current:
            await tx.replace(CONTACTS, merged, expected_version=int(current["_version"]))

    async def _schedule(
        self,
        tx: Transaction,
        purpose: Purpose,
        subject: str,
        due: datetime,
        *,
        related: str | None,
        data: Mapping[str, Any],
    ) -> None:
        """One schedule per (subject, purpose): an existing one is kept as is (first event
        wins; a redelivery or a replay changes nothing)."""
        sid = schedule_id(purpose, subject)
        if await tx.get(SCHEDULES, sid) is not None:
            return
        held = await self._is_held(tx, [subject, related])
        await tx.insert(
            SCHEDULES,
            {
                "_id": sid,
                "subject": subject,
                "related_subject": related,
                "purpose": purpose.value,
                "due_at": to_iso(due),
                "state": PENDING,
                "held": held,
                "data": dict(data),
                "created_at": to_iso(self._clock.now()),
            },
        )
        log.info("schedule %s due at %s", purpose.value, to_iso(due))

    # -- the scheduler ----------------------------------------------------------------------

    async def run_due(self) -> FireReport:
        """Fire every pending, unheld schedule due now, earliest first, batch after batch until
        none is left (catch-up after downtime). Safe to run on every replica at once."""
        fired = lost = 0
        while True:
            now = self._clock.now()
            rows = await self._store.find(
                SCHEDULES,
                {"state": PENDING, "held": False, "due_at": {"$lte": to_iso(now)}},
                sort=[("due_at", 1), ("_id", 1)],
                limit=self._policy.batch_size,
            )
            progress = 0
            for row in rows:
                if await self._fire(row):
                    fired += 1
                    progress += 1
                else:
                    lost += 1
            if len(rows) < self._policy.batch_size or progress == 0:
                return FireReport(fired, lost)

    async def _fire(self, row: Mapping[str, Any]) -> bool:
        """Claim one schedule at the version read and apply its effect in the same transaction;
        False if another replica claimed it (or a hold changed it) first."""
        purpose = Purpose(row["purpose"])
        now = self._clock.now()
        claimed = {**row, "state": FIRED, "fired_at": to_iso(now)}
        try:
            async with self._outbox.transaction() as tx:
                await tx.replace(SCHEDULES, claimed, expected_version=int(row["_version"]))
                if purpose is Purpose.TERMS_EFFECTIVE:
                    await self._publish_terms_effective(tx, row)
                else:
                    await self._start_erasure(tx, row, purpose, now)
        except (VersionConflictError, DuplicateKeyError):
            return False
        log.info("fired schedule %s (%s)", row["_id"], purpose.value)
        return True

    async def _publish_terms_effective(self, tx: Transaction, row: Mapping[str, Any]) -> None:
        data = row["data"]
        event = TermsEffectiveV1(
            terms_version=int(data["terms_version"]),
            content_hash=str(data["content_hash"]),
            effective_at=from_iso(data["effective_at"]),
        )
        await self._outbox.add(tx, self._envelope(event, subject=row["subject"]))

    async def _start_erasure(
        self, tx: Transaction, row: Mapping[str, Any], purpose: Purpose, now: datetime
    ) -> None:
        data = row["data"]
        account_id: str | None = data.get("account_id")
        declaration_id: str | None = data.get("declaration_id")
        erasure_id = erasure_id_for(str(row["_id"]))
        first = first_participants(purpose, has_account=account_id is not None)
        expected = expected_participants(purpose, has_account=account_id is not None)
        await tx.insert(
            ERASURES,
            {
                "_id": erasure_id,
                "schedule_id": row["_id"],
                "subject": row["subject"],
                "purpose": purpose.value,
                "account_id": account_id,
                "declaration_id": declaration_id,
                "terminated_at": data.get("terminated_at"),
                "due_at": row["due_at"],
                # Captured before any participant purges its copy.
                "email": await self._email_of(tx, account_id, declaration_id),
                "expected": sorted(p.value for p in expected),
                "requested": sorted(p.value for p in first),
                "confirmations": {},
                "acts": [],
                "state": IN_PROGRESS,
                "alerted": False,
                "started_at": to_iso(now),
                "deadline": to_iso(now + self._policy.confirmation_timeout),
            },
        )
        subject = str(row["subject"])
        events: list[EventPayload] = []
        if purpose is Purpose.ACCOUNT_ERASURE:
            assert account_id is not None
            events += [
                AccountActsErasureRequestedV1(
                    erasure_id=erasure_id,
                    account_id=account_id,
                    declaration_id=declaration_id,
                    requested_at=now,
                ),
                ContactDataPurgeRequestedV1(
                    erasure_id=erasure_id, account_id=account_id, requested_at=now
                ),
            ]
        else:
            assert declaration_id is not None
            events.append(
                DeclarationPurgeRequestedV1(
                    erasure_id=erasure_id,
                    declaration_id=declaration_id,
                    revoked_at=from_iso(data["revoked_at"]),
                    requested_at=now,
                )
            )
            events.append(
                SubjectKeysShredRequestedV1(
                    erasure_id=erasure_id,
                    purpose=ERASURE_PURPOSE[purpose],
                    subjects=audit_subjects(account_id, declaration_id, ()),
                    requested_at=now,
                )
            )
            if account_id is not None:
                events.append(
                    AccountDeletionRequestedV1(
                        erasure_id=erasure_id,
                        account_id=account_id,
                        declaration_id=declaration_id,
                        requested_at=now,
                    )
                )
        for event in events:
            await self._outbox.add(tx, self._envelope(event, subject=subject))

    async def _email_of(
        self, tx: Transaction, account_id: str | None, declaration_id: str | None
    ) -> str | None:
        account = await tx.get(CONTACTS, f"account:{account_id}") if account_id else None
        if account and account.get("email"):
            return str(account["email"])
        declaration_id = declaration_id or (account or {}).get("declaration_id")
        if declaration_id:
            declaration = await tx.get(CONTACTS, f"declaration:{declaration_id}")
            if declaration and declaration.get("email"):
                return str(declaration["email"])
        return None

    # -- confirmations (inside the inbox transaction) -------------------------------------

    async def on_acts_erased(
        self, tx: Transaction, event: AccountActsErasedV1, envelope: Envelope
    ) -> None:
        erasure = await self._erasure(tx, event.erasure_id)
        if Participant.DELIVERY.value in erasure["confirmations"]:
            return
        erasure["acts"] = [act.model_dump(mode="json") for act in event.acts]
        self._confirm(erasure, Participant.DELIVERY, envelope)
        # Never a silent partial erasure: every act retention saw served must be listed.
        listed = {act.act_id for act in event.acts}
        known = await tx.find(SERVED_ACTS, {"account_id": event.account_id})
        missing = sorted(str(row["_id"]) for row in known if row["_id"] not in listed)
        if missing:
            erasure["mismatch"] = f"{len(missing)} served act(s) missing from delivery's list"
            await self._alert(tx, erasure, str(erasure["mismatch"]))
        # Audit's subjects include each act: only now are they all known.
        now = self._clock.now()
        shred = SubjectKeysShredRequestedV1(
            erasure_id=event.erasure_id,
            purpose=ERASURE_PURPOSE[Purpose.ACCOUNT_ERASURE],
            subjects=audit_subjects(erasure["account_id"], erasure["declaration_id"], listed),
            requested_at=now,
        )
        erasure["requested"] = sorted({*erasure["requested"], Participant.AUDIT.value})
        await self._outbox.add(tx, self._envelope(shred, subject=erasure["subject"]))
        await self._save_and_maybe_complete(tx, erasure)

    async def on_keys_shredded(
        self, tx: Transaction, event: SubjectKeysShreddedV1, envelope: Envelope
    ) -> None:
        await self._record(tx, event.erasure_id, Participant.AUDIT, envelope)

    async def on_contacts_purged(
        self, tx: Transaction, event: ContactDataPurgedV1, envelope: Envelope
    ) -> None:
        await self._record(tx, event.erasure_id, Participant.IDENTITY, envelope)

    async def on_account_deleted(
        self, tx: Transaction, event: AccountDeletedV1, envelope: Envelope
    ) -> None:
        await self._record(tx, event.erasure_id, Participant.IDENTITY, envelope)

    async def on_declaration_purged(
        self, tx: Transaction, event: DeclarationPurgedV1, envelope: Envelope
    ) -> None:
        # Consent's purge event predates this protocol: it names the declaration, not the
        # erasure. A purge retention did not ask for (consent's own policy) is only journaled.
        rows = await tx.find(ERASURES, {"declaration_id": event.declaration_id})
        for row in rows:
            if row["purpose"] == Purpose.REGISTRY_PURGE.value and row["state"] == IN_PROGRESS:
                await self._record(tx, str(row["_id"]), Participant.CONSENT, envelope)

    async def _erasure(self, tx: Transaction, erasure_id: str) -> dict[str, Any]:
        erasure = await tx.get(ERASURES, erasure_id)
        if erasure is None:
            raise PermanentFailure("confirmation of an erasure retention never started")
        return erasure

    async def _record(
        self, tx: Transaction, erasure_id: str, participant: Participant, envelope: Envelope
    ) -> None:
        erasure = await self._erasure(tx, erasure_id)
        if participant.value in erasure["confirmations"]:
            return
        self._confirm(erasure, participant, envelope)
        await self._save_and_maybe_complete(tx, erasure)

    def _confirm(
        self, erasure: dict[str, Any], participant: Participant, envelope: Envelope
    ) -> None:
        erasure["confirmations"] = {
            **erasure["confirmations"],
            participant.value: {
                "event_id": envelope.event_id,
                "confirmed_at": to_iso(envelope.occurred_at),
            },
        }

    async def _save_and_maybe_complete(self, tx: Transaction, erasure: dict[str, Any]) -> None:
        complete = (
            erasure["state"] == IN_PROGRESS
            and not missing_participants(erasure["expected"], erasure["confirmations"])
            and not erasure.get("mismatch")
        )
        if complete and erasure["purpose"] == Purpose.REGISTRY_PURGE.value:
            erasure["state"] = COMPLETED
            erasure["completed_at"] = to_iso(self._clock.now())
            done = RegistryPurgeCompletedV1(
                erasure_id=erasure["_id"],
                declaration_id=erasure["declaration_id"],
                account_id=erasure["account_id"],
                completed_at=self._clock.now(),
            )
            await self._outbox.add(tx, self._envelope(done, subject=erasure["subject"]))
            await self._forget_contacts(tx, erasure)
        elif complete:
            # The certificate needs S3 writes: issued after this commit (and by the periodic
            # job if the process dies in between).
            erasure["state"] = CONFIRMED
            erasure["all_confirmed_at"] = to_iso(self._clock.now())
        await tx.replace(ERASURES, erasure, expected_version=int(erasure["_version"]))

    async def _forget_contacts(self, tx: Transaction, erasure: Mapping[str, Any]) -> None:
        for key in (f"account:{erasure['account_id']}", f"declaration:{erasure['declaration_id']}"):
            await tx.delete(CONTACTS, key)

    # -- alerts -----------------------------------------------------------------------------

    async def check_overdue(self) -> int:
        """Raise one alert per erasure still incomplete past its deadline (confirmations
        missing, or all in but no certificate issued); returns how many."""
        now = self._clock.now()
        rows = await self._store.find(
            ERASURES,
            {"state": {"$in": [IN_PROGRESS, CONFIRMED]}, "deadline": {"$lte": to_iso(now)}},
            sort=[("deadline", 1)],
            limit=self._policy.batch_size,
        )
        raised = 0
        for row in rows:
            if row["alerted"]:
                continue
            reason = (
                "confirmations missing past the deadline"
                if row["state"] == IN_PROGRESS
                else "certificate not issued past the deadline"
            )
            try:
                async with self._outbox.transaction() as tx:
                    await self._alert(tx, row, reason)
                    await tx.replace(ERASURES, row, expected_version=int(row["_version"]))
            except VersionConflictError:
                continue  # another replica alerted, or a confirmation just arrived
            raised += 1
        return raised

    async def _alert(self, tx: Transaction, erasure: dict[str, Any], reason: str) -> None:
        missing = missing_participants(erasure["expected"], erasure["confirmations"])
        log.error(
            "erasure %s (%s) incomplete: %s; missing: %s",
            erasure["_id"],
            erasure["purpose"],
            reason,
            ", ".join(p.value for p in missing) or "none",
        )
        event = ErasureOverdueV1(
            erasure_id=erasure["_id"],
            purpose=ERASURE_PURPOSE[Purpose(erasure["purpose"])],
            missing=missing,
            reason=reason,
            started_at=from_iso(erasure["started_at"]),
            deadline=from_iso(erasure["deadline"]),
        )
        await self._outbox.add(tx, self._envelope(event, subject=erasure["subject"]))
        erasure["alerted"] = True
        self.alerts_raised += 1
        self._overdue_counter.add(1, {"purpose": erasure["purpose"]})

    # -- certificates -----------------------------------------------------------------------

    async def issue_pending_certificates(self) -> int:
        """Issue the certificate of every erasure whose confirmations are all in."""
        async with self._issuing:
            rows = await self._store.find(
                ERASURES, {"state": CONFIRMED}, sort=[("_id", 1)], limit=self._policy.batch_size
            )
            issued = 0
            for row in rows:
                if await self._issue(row):
                    issued += 1
            return issued

    async def issue_certificates_when_wanted(self) -> None:
        """Background job: issue certificates as soon as confirmations complete an erasure.
        A failure (audit away for the receipts, S3 down) waits for the next confirmation or
        the scheduler's pass; the confirmations themselves are already recorded."""
        while True:
            await self.certificates_wanted.wait()
            self.certificates_wanted.clear()
            try:
                await self.issue_pending_certificates()
                waiting = await self._store.count(ERASURES, {"state": CONFIRMED})
            except Exception:
                log.exception("certificate issuance deferred to the next scheduler pass")
                continue
            if waiting:
                # Held back for receipts audit has not checkpointed yet: look again shortly.
                await asyncio.sleep(self._policy.receipt_recheck.total_seconds())
                self.certificates_wanted.set()

    async def _issue(self, erasure: dict[str, Any]) -> bool:
        now = self._clock.now()
        certificate_id = new_id(now)
        steps = [
            CertifiedStep(participant, str(c["event_id"]), str(c["confirmed_at"]))
            for participant, c in erasure["confirmations"].items()
        ]
        receipts = await self._receipts.receipts([s.event_id for s in steps])
        if self._wait_for_receipts(erasure, receipts, now):
            log.info("certificate of %s waits for audit receipts", erasure["_id"])
            return False
        document = certificate_document(
            certificate_id=certificate_id,
            issued_at=now,
            account_id=str(erasure["account_id"]),
            declaration_id=erasure.get("declaration_id"),
            terminated_at=erasure.get("terminated_at"),
            due_at=str(erasure["due_at"]),
            acts=[
                CertifiedAct(
                    a["act_id"],
                    a["sha256"],
                    a["served_at"],
                    a["erased_at"],
                    tuple(a.get("reply_ids") or ()),
                )
                for a in erasure["acts"]
            ],
            steps=steps,
            receipts=receipts,
        )
        issued = sign_certificate(document, self._signer, zone=self._policy.zone)
        stored = await self._store_files(issued)
        token = secrets.token_urlsafe(32)
        try:
            async with self._outbox.transaction() as tx:
                await tx.insert(
                    CERTIFICATES,
                    {
                        "_id": certificate_id,
                        "erasure_id": erasure["_id"],
                        "account_id": erasure["account_id"],
                        "fingerprint": issued.fingerprint,
                        "pdf_sha256": issued.pdf_sha256,
                        "key_id": issued.key_id,
                        "token_sha256": _hash_token(token),
                        "files": stored,
                        "issued_at": to_iso(now),
                    },
                )
                # Captured when the erasure started; a late capture is the second chance.
                email = erasure.get("email") or await self._email_of(
                    tx, erasure["account_id"], erasure.get("declaration_id")
                )
                # The address leaves retention's store with this transaction: it travels only
                # in the event notify needs to send the certificate.
                erasure.update(state=COMPLETED, certificate_id=certificate_id, email=None)
                await tx.replace(ERASURES, erasure, expected_version=int(erasure["_version"]))
                await self._announce(tx, erasure, issued, token, email, now)
                await self._forget_contacts(tx, erasure)
        except (VersionConflictError, DuplicateKeyError):
            # Another replica issued it: our objects are orphans, unreadable without their keys.
            for kind in stored:
                await self._objects.delete(self._object_key(certificate_id, kind))
            return False
        log.info("erasure certificate %s issued (%s)", certificate_id, issued.fingerprint)
        return True

    async def _announce(
        self,
        tx: Transaction,
        erasure: Mapping[str, Any],
        issued: IssuedCertificate,
        token: str,
        email: str | None,
        now: datetime,
    ) -> None:
        account_id = str(erasure["account_id"])
        if email is None:
            log.error("certificate %s has no address to go to", issued.certificate_id)
            self.alerts_raised += 1
            self._overdue_counter.add(1, {"purpose": "certificate_undeliverable"})
            event: EventPayload = CertificateUndeliverableV1(
                account_id=account_id,
                certificate_id=issued.certificate_id,
                fingerprint=issued.fingerprint,
                issued_at=now,
            )
        else:
            event = ErasureCertificateIssuedV1(
                account_id=account_id,
                email=email,
                certificate_id=issued.certificate_id,
                download_url=self.download_url(issued.certificate_id, token),
                issued_at=now,
                fingerprint=issued.fingerprint,
                key_id=issued.key_id,
                pdf_sha256=issued.pdf_sha256,
            )
        await self._outbox.add(tx, self._envelope(event, subject=f"account:{account_id}"))
        # The account's subject is shredded in audit by now: the fingerprints go on record
        # under the erasure's own subject, readable for good.
        certified = ErasureCertifiedV1(
            erasure_id=str(erasure["_id"]),
            certificate_id=issued.certificate_id,
            fingerprint=issued.fingerprint,
            pdf_sha256=issued.pdf_sha256,
            key_id=issued.key_id,
            issued_at=now,
        )
        await self._outbox.add(tx, self._envelope(certified, subject=f"erasure:{erasure['_id']}"))

    def _wait_for_receipts(
        self, erasure: Mapping[str, Any], receipts: ReceiptSet, now: datetime
    ) -> bool:
        """Whether to hold the certificate back: audit answered that receipts are coming (not
        yet journaled or checkpointed) and the grace period is not over. Audit unreachable or
        failing does not hold it: those receipts are listed as missing, with the reason."""
        pending = [m for m in receipts.missing if m["reason"] in RECEIPTS_COMING]
        since = erasure.get("all_confirmed_at")
        # An erasure confirmed before this rule existed has no instant: issued at once.
        return bool(pending) and (
            since is not None and now < from_iso(since) + self._policy.receipt_grace
        )

    @property
    def public_keys(self) -> list[str]:
        """The C2SP verifier key strings that verify certificates offline."""
        return self._signer.verifier_keys()

    def download_url(self, certificate_id: str, token: str) -> str:
        return f"{self._policy.public_url.rstrip('/')}/v1/certificates/{certificate_id}/{token}.pdf"

    @staticmethod
    def _object_key(certificate_id: str, kind: str) -> str:
        return f"certificates/{certificate_id}.{kind}"

    async def _store_files(self, issued: IssuedCertificate) -> dict[str, Any]:
        """Both files encrypted in S3 under their own DEKs; the wrapped DEKs stay here."""
        files: dict[str, Any] = {}
        for kind, data in (("pdf", issued.pdf), ("json", issued.signed_json)):
            object_id = f"certificate:{issued.certificate_id}:{kind}"
            key, wrapped = await self._keys.new_data_key(object_id)
            await self._objects.put(
                self._object_key(issued.certificate_id, kind),
                aiter(encrypt_stream(_chunks(data), key, object_id)),
                content_type="application/octet-stream",
            )
            files[kind] = {"wrapped": wrapped.model_dump(mode="json"), "size": len(data)}
        return files

    async def read_certificate(self, certificate_id: str, token: str, kind: str) -> bytes:
        """The decrypted file (`pdf` or `json`) if `token` is the one e-mailed with it."""
        row = await self._store.get(CERTIFICATES, certificate_id)
        if row is None or kind not in row["files"]:
            raise CertificateNotFoundError(certificate_id)
        if not hmac.compare_digest(row["token_sha256"], _hash_token(token)):
            raise CertificateNotFoundError(certificate_id)
        object_id = f"certificate:{certificate_id}:{kind}"
        key = await self._keys.unwrap(
            WrappedDek.model_validate(row["files"][kind]["wrapped"]), object_id
        )
        ciphertext = await self._objects.get(self._object_key(certificate_id, kind))
        return b"".join([c async for c in decrypt_stream(ciphertext, key, object_id)])

    # -- holds ------------------------------------------------------------------------------

    async def _is_held(self, tx: Transaction, subjects: Sequence[str | None]) -> bool:
        keys = [s for s in subjects if s]
        return bool(keys) and bool(await tx.find(HOLDS, {"subject": {"$in": keys}}, limit=1))

    async def place_hold(self, subject: str, reference: str, operator: str) -> PlacedHold:
        """Suspend the subject's erasures not yet fired. Each judicial request is its own hold
        (a subject stays held while any of its holds remains); placing the same (subject,
        reference) again returns the existing hold, journaled once."""
        now = self._clock.now()
        async with self._outbox.transaction() as tx:
            for hold in await tx.find(HOLDS, {"subject": subject}):
                if hold["reference"] == reference:
                    return PlacedHold(str(hold["_id"]), created=False)
            hold_id = new_id(now)
            await tx.insert(
                HOLDS,
                {
                    "_id": hold_id,
                    "subject": subject,
                    "reference": reference,
                    "placed_by": operator,
                    "placed_at": to_iso(now),
                },
            )
            for field in ("subject", "related_subject"):
                await tx.update(SCHEDULES, {field: subject, "state": PENDING}, {"held": True})
            event = HoldPlacedV1(
                hold_subject=subject,
                reference=reference,
                placed_by=operator,
                placed_at=now,
                hold_id=hold_id,
            )
            await self._outbox.add(tx, self._envelope(event, subject=f"hold:{subject}"))
        log.info("hold %s placed", hold_id)
        return PlacedHold(hold_id, created=True)

    async def lift_hold(self, hold_id: str, operator: str) -> None:
        """Lift one hold; the subject's erasures resume unless another hold remains, and what
        fell due meanwhile fires at the scheduler's next pass."""
        now = self._clock.now()
        async with self._outbox.transaction() as tx:
            hold = await tx.get(HOLDS, hold_id)
            if hold is None:
                raise HoldNotFoundError(hold_id)
            subject = str(hold["subject"])
            await tx.delete(HOLDS, hold_id, expected_version=int(hold["_version"]))
            for field in ("subject", "related_subject"):
                for row in await tx.find(SCHEDULES, {field: subject, "state": PENDING}):
                    held = await self._is_held(tx, [row["subject"], row["related_subject"]])
                    if held != row["held"]:
                        await tx.replace(
                            SCHEDULES,
                            {**row, "held": held},
                            expected_version=int(row["_version"]),
                        )
            event = HoldLiftedV1(
                hold_subject=subject, lifted_by=operator, lifted_at=now, hold_id=hold_id
            )
            await self._outbox.add(tx, self._envelope(event, subject=f"hold:{subject}"))
        log.info("hold %s lifted", hold_id)

    async def holds_of(self, subject: str) -> list[dict[str, str]]:
        rows = await self._store.find(HOLDS, {"subject": subject}, sort=[("placed_at", 1)])
        return [
            {"id": str(r["_id"]), "subject": subject, "reference": str(r["reference"])}
            for r in rows
        ]

    # -- queries ----------------------------------------------------------------------------

    async def schedules_of(self, subject: str) -> list[dict[str, Any]]:
        rows = await self._store.find(SCHEDULES, {"subject": subject}, sort=[("due_at", 1)])
        rows += await self._store.find(
            SCHEDULES, {"related_subject": subject}, sort=[("due_at", 1)]
        )
        return [
            {
                "id": row["_id"],
                "subject": row["subject"],
                "purpose": row["purpose"],
                "due_at": from_iso(row["due_at"]).isoformat(),
                "state": row["state"],
                "held": row["held"],
            }
            for row in sorted(rows, key=lambda r: (r["due_at"], r["_id"]))
        ]

    async def erasure(self, erasure_id: str) -> dict[str, Any] | None:
        return await self._store.get(ERASURES, erasure_id)
