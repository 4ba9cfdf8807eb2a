"""Consent use cases: register a declaration, follow its lifecycle, answer registry lookups,
serve the person's rights (view, revoke, export, restriction), expire and purge.

Storage (consent's own store):

- `declarations`: one document per declaration: the person's data (the registry needs it),
  HMAC search keys, scope, duration, status, `history`, the linked account. `live_key` (the
  person's search key) is present only while the declaration is `registered` or `active`; a
  unique index on it makes a second live declaration for the same person impossible, without
  a check-then-insert window.
- `proofs`: metadata of each proof file; `proof_keys`: their wrapped DEKs (see `proofs.py`).
- `consultations`: every registry lookup (office, purpose, result), shown to the person in
  the export; `restriction_requests`: the person's GDPR requests.
- `lookup_rates`: per consulter (`office:<id>`, `judicial_authority:<client>`), the instants of
  its lookups in the last minute: the rate limit lives in the store, so every replica counts
  the same lookups.

Every state change and the event announcing it commit in one transaction (outbox); every
transition replaces the declaration at the version it was read, so two replicas (or the
expiry job and a consumer) never apply two transitions from the same state.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, Protocol

from consent.domain import (
    LIVE,
    DeclarationError,
    DeclarationInput,
    RateWindow,
    Transition,
    check_declaration,
    effective_status,
    legal_key,
    natural_key,
    natural_place_key,
    next_status,
    search_keys,
)
from consent.proofs import ProofVault, UploadedProof
from shared.clock import Clock
from shared.contracts.consent import (
    ConsentRevokedV1,
    ConsulterRole,
    DeclarationActivatedV1,
    DeclarationExpiredV1,
    DeclarationPurgedV1,
    DeclarationRefusedV1,
    DeclarationRegisteredV1,
    DeclarationStatus,
    DeclarationTerminatedV1,
    ProofShredded,
    RegistryConsultedV1,
    RestrictionAnsweredV1,
    RestrictionKind,
    RestrictionOutcome,
    RestrictionRequestedV1,
)
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.identity import (
    AccountCreatedV1,
    AccountRole,
    AccountTerminatedV1,
    TermsAcceptedV1,
    TermsRefusedV1,
)
from shared.crypto import ShredStep, ShredStepKind, crypto_shred
from shared.ids import new_id
from shared.legal_calendar import validity_end
from shared.messaging.consumer import PermanentFailure
from shared.messaging.outbox import Outbox
from shared.store.port import (
    Document,
    DocumentStore,
    DuplicateKeyError,
    Index,
    Transaction,
    VersionConflictError,
    from_iso,
    to_iso,
)
from shared.vault import PENDING_INDEX

log = logging.getLogger(__name__)

DECLARATIONS: Final = "declarations"
PROOFS: Final = "proofs"
CONSULTATIONS: Final = "consultations"
RESTRICTIONS: Final = "restriction_requests"
LOOKUP_RATES: Final = "lookup_rates"
LOOKUP_WINDOW: Final = timedelta(minutes=1)
# Tries at recording a lookup when other replicas record the same consulter's at once.
_RATE_ATTEMPTS: Final = 5
INDEXES: Final = (
    Index(DECLARATIONS, ("live_key",), unique=True),
    Index(DECLARATIONS, ("keys.person",)),
    Index(DECLARATIONS, ("keys.place",)),
    Index(DECLARATIONS, ("account_id",)),
    Index(DECLARATIONS, ("expires_at",)),
    Index(PROOFS, ("declaration_id",)),
    Index(CONSULTATIONS, ("declaration_id",)),
    Index(RESTRICTIONS, ("declaration_id",)),
    Index(RESTRICTIONS, ("state", "requested_at")),
    PENDING_INDEX,
)
EXPIRY_BATCH: Final = 500


class EnvelopeFactory(Protocol):
    def __call__(
        self,
        payload: EventPayload,
        *,
        subject: str,
        actor: str | None = None,
        causation: Envelope | None = None,
    ) -> Envelope: ...


class DuplicateDeclarationError(Exception):
    """The person already has a live declaration."""

    def __init__(self, existing_id: str) -> None:
        self.existing_id = existing_id
        super().__init__(f"live declaration {existing_id} exists for this person")


class DeclarationNotFoundError(LookupError):
    """No declaration (for that id or that account)."""


class NotRevocableError(Exception):
    """The declaration is not live: nothing to revoke."""

    def __init__(self, status: DeclarationStatus) -> None:
        self.status = status
        super().__init__(f"a {status.value} declaration cannot be revoked")


class LookupRateLimitedError(Exception):
    """The consulter made as many lookups as it may in the last minute (429)."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"lookup rate exceeded: retry in {retry_after} s")


class RestrictionRequestNotFoundError(LookupError):
    """No restriction or objection request with that id."""


class RestrictionAlreadyAnsweredError(Exception):
    """The request was answered before: an answer is final."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        super().__init__(f"this request was already answered ({outcome})")


class NotPurgeableError(Exception):
    """Only a declaration that ended may be purged."""


class DeclarationNotYetKnownError(Exception):
    """An identity event names a declaration this store does not hold (yet): the consumer
    retries it with backoff and, if it never appears, parks it in the DLQ for replay."""


@dataclass(frozen=True)
class Office:
    """The office client registering a declaration."""

    office_id: str
    subject: str


@dataclass(frozen=True)
class Consulter:
    role: ConsulterRole
    subject: str
    office_id: str | None

    @property
    def actor(self) -> str:
        if self.role is ConsulterRole.OFFICE and self.office_id:
            return f"office:{self.office_id}"
        return f"{self.role.value}:{self.subject}"


@dataclass(frozen=True)
class LookupLimits:
    """Registry lookups allowed in any rolling minute: per office (all its clients together)
    and per judicial authority client. The registry answers exact keys only; the limit keeps a
    client from sweeping it with guessed identities."""

    per_office: int = 60
    per_judicial_client: int = 60

    def of(self, consulter: Consulter) -> int:
        if consulter.role is ConsulterRole.OFFICE:
            return self.per_office
        return self.per_judicial_client


@dataclass(frozen=True)
class NaturalQuery:
    nom: str
    prenoms: str
    date_naissance: date
    lieu_naissance: str | None = None


@dataclass(frozen=True)
class SirenQuery:
    siren: str


@dataclass(frozen=True)
class RegistryAnswer:
    """What serving needs, nothing more."""

    declaration_id: str
    status: DeclarationStatus
    scope: list[str]
    valid_until: str | None
    territory: str

    def to_json(self) -> dict[str, Any]:
        return {
            "declaration_id": self.declaration_id,
            "status": self.status.value,
            "scope": self.scope,
            "valid_until": self.valid_until,
            "territory": self.territory,
        }


def subject_of(declaration_id: str) -> str:
    return f"declaration:{declaration_id}"


def lookup_subject(consultation_id: str) -> str:
    """A registry lookup's own journal subject: the lookup is the consulting office's act, not
    an event of the declaration it finds, so it makes the office a party of nothing else."""
    return f"registry-lookup:{consultation_id}"


def _expires_at(document: Document) -> datetime | None:
    value = document.get("expires_at")
    return from_iso(value) if value else None


class Registry:
    """The national registry of declarations (décret 2021-1625 art. 21)."""

    def __init__(
        self,
        store: DocumentStore,
        outbox: Outbox,
        clock: Clock,
        vault: ProofVault,
        envelope: EnvelopeFactory,
        *,
        pepper: bytes,
        freshness_months: int = 3,
        lookup_limits: LookupLimits | None = None,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._vault = vault
        self._envelope = envelope
        self._pepper = pepper
        self._months = freshness_months
        self._lookup_limits = lookup_limits or LookupLimits()

    @property
    def vault(self) -> ProofVault:
        return self._vault

    # -- registration ------------------------------------------------------------------------

    async def register(
        self,
        office: Office,
        declaration: DeclarationInput,
        uploads: Mapping[str, UploadedProof],
    ) -> Document:
        """Record a declaration and its (already encrypted and stored) proofs, and announce it.

        DeclarationError for a rule broken, DuplicateDeclarationError when the person already
        has a live declaration. The caller discards the uploads on either.
        """
        now = self._clock.now()
        territory, _today = check_declaration(declaration, now, self._months)
        referenced = {proof.part for proof in declaration.proofs}
        for index, proof in enumerate(declaration.proofs):
            if proof.part not in uploads:
                raise DeclarationError(f"proofs[{index}].part", "no file part of that name")
        for part in uploads:
            if part not in referenced:
                raise DeclarationError("proofs", "a file part is not described in `proofs`")
        declaration_id = new_id(now)
        keys = search_keys(self._pepper, declaration.person)
        valid_until = declaration.valid_until
        expires = validity_end(valid_until, territory) if valid_until else None
        at = to_iso(now)
        document: Document = {
            "_id": declaration_id,
            "status": DeclarationStatus.REGISTERED.value,
            "person_kind": declaration.person.kind.value,
            "person": declaration.person.model_dump(mode="json"),
            "keys": keys.stored,
            "live_key": keys.person,
            "scope": [nature.value for nature in declaration.scope],
            "valid_until": valid_until.isoformat() if valid_until else None,
            "expires_at": to_iso(expires) if expires else None,
            "territory": territory.value,
            "revocation_modalities": declaration.revocation_modalities,
            "office_id": office.office_id,
            "registered_by": office.subject,
            "registered_at": at,
            "account_id": None,
            "proof_ids": [uploads[p.part].proof_id for p in declaration.proofs],
            "history": [
                {"status": DeclarationStatus.REGISTERED.value, "at": at, "cause": "registration"}
            ],
        }
        event = self._envelope(
            DeclarationRegisteredV1(
                declaration_id=declaration_id,
                person_kind=declaration.person.kind,
                email=declaration.person.email,
                mobile=declaration.person.mobile,
            ),
            subject=subject_of(declaration_id),
            actor=f"office:{office.office_id}",
        )
        try:
            async with self._outbox.transaction() as tx:
                await tx.insert(DECLARATIONS, document)
                for proof in declaration.proofs:
                    uploaded = uploads[proof.part]
                    await tx.insert(
                        PROOFS,
                        {
                            "_id": uploaded.proof_id,
                            "declaration_id": declaration_id,
                            "type": proof.type.value,
                            "issued_on": proof.issued_on.isoformat(),
                            "media_type": uploaded.media_type.value,
                            "size": uploaded.size,
                            "sha256": uploaded.sha256,
                            "received_at": at,
                        },
                    )
                    await self._vault.keep_key(tx, uploaded)
                await self._outbox.add(tx, event)
        except DuplicateKeyError:
            existing = await self._store.find(DECLARATIONS, {"live_key": keys.person}, limit=1)
            if not existing:
                raise
            raise DuplicateDeclarationError(str(existing[0]["_id"])) from None
        log.info("declaration %s registered by office %s", declaration_id, office.office_id)
        return document

    # -- reads -------------------------------------------------------------------------------

    async def get(self, declaration_id: str) -> Document | None:
        return await self._store.get(DECLARATIONS, declaration_id)

    async def of_account(self, account_id: str) -> Document:
        found = await self._store.find(
            DECLARATIONS, {"account_id": account_id}, sort=[("_id", -1)], limit=1
        )
        if not found:
            raise DeclarationNotFoundError("no declaration is linked to this account")
        return found[0]

    def view(self, document: Document) -> dict[str, Any]:
        """The declaration as its registering office, its person or the operator see it."""
        status = effective_status(
            DeclarationStatus(document["status"]), _expires_at(document), self._clock.now()
        )
        return {
            "id": document["_id"],
            "status": status.value,
            "person_kind": document["person_kind"],
            "person": document.get("person"),
            "scope": document["scope"],
            "valid_until": document["valid_until"],
            "territory": document["territory"],
            "revocation_modalities": document.get("revocation_modalities"),
            "office_id": document["office_id"],
            "registered_at": document["registered_at"],
            "account_id": document.get("account_id"),
            "history": document["history"],
            "purged_at": document.get("purged_at"),
        }

    async def proofs_of(self, declaration_id: str) -> list[Document]:
        return await self._store.find(PROOFS, {"declaration_id": declaration_id}, sort=[("_id", 1)])

    # -- the registry lookup -----------------------------------------------------------------

    async def search(
        self, consulter: Consulter, query: NaturalQuery | SirenQuery, purpose: str
    ) -> RegistryAnswer | None:
        """Exact-key lookup, journaled with its purpose whatever its outcome, within the
        consulter's rate limit: a lookup over it raises `LookupRateLimitedError` and is none
        (nothing searched, nothing journaled)."""
        if isinstance(query, SirenQuery):
            where = {"keys.person": legal_key(self._pepper, query.siren)}
        elif query.lieu_naissance:
            key = natural_place_key(
                self._pepper, query.nom, query.prenoms, query.date_naissance, query.lieu_naissance
            )
            where = {"keys.place": key}
        else:
            key = natural_key(self._pepper, query.nom, query.prenoms, query.date_naissance)
            where = {"keys.person": key}
        try:
            for _attempt in range(_RATE_ATTEMPTS):
                try:
                    return await self._search_once(consulter, where, purpose)
                except (VersionConflictError, DuplicateKeyError):
                    continue  # another replica recorded a lookup of this consulter: read again
            # Contention that lasting is the consulter's own lookups racing each other.
            raise LookupRateLimitedError(1)
        except LookupRateLimitedError:
            log.warning("registry lookup refused: rate limit of %s reached", consulter.actor)
            raise

    async def _search_once(
        self, consulter: Consulter, where: dict[str, str], purpose: str
    ) -> RegistryAnswer | None:
        now = self._clock.now()
        async with self._outbox.transaction() as tx:
            # Counted and journaled in one transaction: a lookup is counted if and only if it
            # happened, and two replicas recording the same consulter's conflict and re-read.
            rates = await tx.get(LOOKUP_RATES, consulter.actor)
            window = RateWindow(tuple(from_iso(at) for at in (rates or {}).get("at", [])))
            wait = window.retry_after(now, self._lookup_limits.of(consulter), LOOKUP_WINDOW)
            if wait is not None:
                raise LookupRateLimitedError(wait)
            # A person has at most one live declaration, and any number that ended: the live
            # one answers, else the latest (a revoked consent must read as revoked, not as
            # unknown).
            found = await tx.find(DECLARATIONS, where, sort=[("_id", -1)], limit=50)
            live = [d for d in found if d["status"] in LIVE]
            chosen = live[0] if live else (found[0] if found else None)
            answer = None
            if chosen is not None:
                status = effective_status(
                    DeclarationStatus(chosen["status"]), _expires_at(chosen), now
                )
                answer = RegistryAnswer(
                    str(chosen["_id"]),
                    status,
                    list(chosen["scope"]),
                    chosen["valid_until"],
                    str(chosen["territory"]),
                )
            consultation_id = new_id(now)
            declaration_id = answer.declaration_id if answer else None
            event = self._envelope(
                RegistryConsultedV1(
                    consultation_id=consultation_id,
                    consulter_role=consulter.role,
                    office_id=consulter.office_id,
                    consulter=consulter.subject,
                    purpose=purpose,
                    declaration_id=declaration_id,
                    consulted_at=now,
                ),
                subject=lookup_subject(consultation_id),
                actor=consulter.actor,
            )
            await tx.insert(
                CONSULTATIONS,
                {
                    "_id": consultation_id,
                    "declaration_id": declaration_id,
                    "consulter_role": consulter.role.value,
                    "office_id": consulter.office_id,
                    "purpose": purpose,
                    "consulted_at": to_iso(now),
                },
            )
            await self._outbox.add(tx, event)
            recorded = {
                "_id": consulter.actor,
                "at": [to_iso(at) for at in window.record(now, LOOKUP_WINDOW).at],
            }
            if rates is None:
                await tx.insert(LOOKUP_RATES, recorded)
            else:
                await tx.replace(LOOKUP_RATES, recorded, expected_version=rates["_version"])
        return answer

    # -- the person --------------------------------------------------------------------------

    async def revoke(self, account_id: str) -> Document:
        """The person revokes: effective now for new acts, never retroactive."""
        document = await self.of_account(account_id)
        now = self._clock.now()
        status = effective_status(DeclarationStatus(document["status"]), _expires_at(document), now)
        if status not in LIVE:
            raise NotRevocableError(status)
        event = self._envelope(
            ConsentRevokedV1(declaration_id=document["_id"], account_id=account_id, revoked_at=now),
            subject=subject_of(document["_id"]),
            actor=f"recipient:{account_id}",
        )
        async with self._outbox.transaction() as tx:
            updated = await self._transition(
                tx, document, Transition.REVOKE, now, "revoked by the person", event
            )
        if updated is None:  # pragma: no cover - guarded by the status check above
            raise NotRevocableError(DeclarationStatus(document["status"]))
        log.info("declaration %s revoked", document["_id"])
        return updated

    async def request_restriction(
        self, account_id: str, kind: RestrictionKind, text: str
    ) -> Document:
        """Record a restriction or objection request for the operator."""
        document = await self.of_account(account_id)
        now = self._clock.now()
        request: Document = {
            "_id": new_id(now),
            "declaration_id": document["_id"],
            "account_id": account_id,
            "kind": kind.value,
            "text": text,
            "requested_at": to_iso(now),
            "state": "open",
        }
        event = self._envelope(
            RestrictionRequestedV1(
                request_id=request["_id"],
                declaration_id=document["_id"],
                account_id=account_id,
                kind=kind,
                requested_at=now,
            ),
            subject=subject_of(document["_id"]),
            actor=f"recipient:{account_id}",
        )
        async with self._outbox.transaction() as tx:
            await tx.insert(RESTRICTIONS, request)
            await self._outbox.add(tx, event)
        return request

    async def restriction_requests(
        self, *, state: str | None, after: str | None, limit: int
    ) -> list[Document]:
        """The requests for the operator, oldest first (`after`: the last id of a page)."""
        where: dict[str, Any] = {}
        if state is not None:
            where["state"] = state
        if after is not None:
            where["_id"] = {"$gt": after}
        return await self._store.find(RESTRICTIONS, where, sort=[("_id", 1)], limit=limit)

    async def restriction_requests_of(self, account_id: str) -> list[Document]:
        """The person's own requests, oldest first."""
        document = await self.of_account(account_id)
        return await self._store.find(
            RESTRICTIONS, {"declaration_id": document["_id"]}, sort=[("_id", 1)]
        )

    async def answer_restriction(
        self, request_id: str, outcome: RestrictionOutcome, reason: str, *, operator: str
    ) -> Document:
        """Record the operator's answer (final) and publish it; the reason goes to the person,
        not into the event."""
        now = self._clock.now()
        async with self._outbox.transaction() as tx:
            request = await tx.get(RESTRICTIONS, request_id)
            if request is None:
                raise RestrictionRequestNotFoundError(request_id)
            if request["state"] != "open":
                raise RestrictionAlreadyAnsweredError(str(request["state"]))
            answered: Document = {
                **request,
                "state": outcome.value,
                "reason": reason,
                "answered_at": to_iso(now),
                "answered_by": operator,
            }
            await tx.replace(RESTRICTIONS, answered, expected_version=int(request["_version"]))
            await self._outbox.add(
                tx,
                self._envelope(
                    RestrictionAnsweredV1(
                        request_id=request_id,
                        declaration_id=request["declaration_id"],
                        account_id=request["account_id"],
                        kind=RestrictionKind(request["kind"]),
                        outcome=outcome,
                        answered_at=now,
                    ),
                    subject=subject_of(request["declaration_id"]),
                    actor=f"operator:{operator}",
                ),
            )
        log.info("restriction request %s %s", request_id, outcome.value)
        return answered

    async def export(self, account_id: str, proof_url: str) -> dict[str, Any]:
        """Everything consent holds about the person (GDPR art. 15 and 20), as JSON. Proof
        files are listed with their metadata and a URL (`proof_url` with `{id}`) to download
        them decrypted."""
        document = await self.of_account(account_id)
        declaration_id = document["_id"]
        proofs = [
            {
                "id": proof["_id"],
                "type": proof["type"],
                "issued_on": proof["issued_on"],
                "media_type": proof["media_type"],
                "size": proof["size"],
                "sha256": proof["sha256"],
                "received_at": proof["received_at"],
                "download": proof_url.format(id=proof["_id"]),
            }
            for proof in await self.proofs_of(declaration_id)
        ]
        consultations = [
            {
                "consulted_at": c["consulted_at"],
                "consulter_role": c["consulter_role"],
                "office_id": c["office_id"],
                "purpose": c["purpose"],
            }
            for c in await self._store.find(
                CONSULTATIONS, {"declaration_id": declaration_id}, sort=[("_id", 1)]
            )
        ]
        requests = [
            restriction_view(r)
            for r in await self._store.find(
                RESTRICTIONS, {"declaration_id": declaration_id}, sort=[("_id", 1)]
            )
        ]
        return {
            "exported_at": to_iso(self._clock.now()),
            "declaration": self.view(document),
            "proofs": proofs,
            "registry_consultations": consultations,
            "restriction_requests": requests,
        }

    async def proof_of_account(self, account_id: str, proof_id: str) -> Document:
        """A proof's metadata if it belongs to the account's declaration."""
        document = await self.of_account(account_id)
        proof = await self._store.get(PROOFS, proof_id)
        if proof is None or proof["declaration_id"] != document["_id"]:
            raise DeclarationNotFoundError("no such proof for this account")
        return proof

    async def open_proof(self, proof_id: str) -> AsyncIterator[bytes]:
        """A proof's plaintext, opened (see `ProofVault.open`): failures raise now."""
        return await self._vault.open(proof_id)

    # -- lifecycle from identity's events ----------------------------------------------------

    async def _transition(
        self,
        tx: Transaction,
        document: Document,
        transition: Transition,
        at: datetime,
        cause: str,
        event: Envelope,
        changes: Mapping[str, Any] | None = None,
    ) -> Document | None:
        """Apply `transition` to `document` (as read) with its event, or None if it does
        not apply from the current status (repeated or late events change nothing)."""
        target = next_status(DeclarationStatus(document["status"]), transition)
        if target is None:
            return None
        updated = {k: v for k, v in document.items() if k != "_version"}
        updated.update(changes or {})
        updated["status"] = target.value
        updated["history"] = [
            *document["history"],
            {"status": target.value, "at": to_iso(at), "cause": cause},
        ]
        updated[f"{target.value}_at"] = to_iso(at)
        if target not in LIVE:
            updated.pop("live_key", None)
        stored = await tx.replace(DECLARATIONS, updated, expected_version=document["_version"])
        await self._outbox.add(tx, event)
        return stored

    async def _declaration_for(self, tx: Transaction, declaration_id: str | None) -> Document:
        if declaration_id is None:
            raise DeclarationNotYetKnownError("the event names no declaration")
        document = await tx.get(DECLARATIONS, declaration_id)
        if document is None:
            raise DeclarationNotYetKnownError(f"declaration {declaration_id} not known yet")
        return document

    @staticmethod
    def _link(document: Document, account_id: str) -> dict[str, Any]:
        """The change linking `account_id`; refuses an event from another account than the
        one already linked (one account per declaration): no retry can fix that."""
        linked = document.get("account_id")
        if linked is not None and linked != account_id:
            raise PermanentFailure(
                f"declaration {document['_id']} is linked to another account than the event's"
            )
        return {"account_id": account_id}

    async def on_account_created(
        self, tx: Transaction, created: AccountCreatedV1, _envelope: Envelope
    ) -> None:
        """Link the recipient's account to its declaration (no status change)."""
        if created.role is not AccountRole.RECIPIENT or created.declaration_id is None:
            return
        document = await self._declaration_for(tx, created.declaration_id)
        if document.get("account_id") == created.account_id:
            return  # already linked (e.g. by a CGU acceptance processed first)
        updated = {k: v for k, v in document.items() if k != "_version"}
        updated.update(self._link(document, created.account_id))
        await tx.replace(DECLARATIONS, updated, expected_version=document["_version"])

    async def on_terms_accepted(
        self, tx: Transaction, accepted: TermsAcceptedV1, envelope: Envelope
    ) -> None:
        """CGU accepted: the consent becomes active (CPC 748-2), unless its duration is
        already over. Links the account too, so the order of identity's events is free."""
        if accepted.declaration_id is None:
            return  # an operator's account: no consent involved
        document = await self._declaration_for(tx, accepted.declaration_id)
        changes = self._link(document, accepted.account_id)
        expires = _expires_at(document)
        if expires is not None and expires <= accepted.accepted_at:
            await self._expire(tx, document, causation=envelope, changes=changes)
            return
        event = self._envelope(
            DeclarationActivatedV1(
                declaration_id=document["_id"],
                account_id=accepted.account_id,
                activated_at=accepted.accepted_at,
                terms_version=accepted.terms_version,
                scope=document["scope"],
                valid_until=document["valid_until"],
                territory=document["territory"],
            ),
            subject=subject_of(document["_id"]),
            causation=envelope,
        )
        done = await self._transition(
            tx,
            document,
            Transition.ACTIVATE,
            accepted.accepted_at,
            f"CGU v{accepted.terms_version} accepted",
            event,
            changes,
        )
        if done is None and document.get("account_id") is None:
            updated = {k: v for k, v in document.items() if k != "_version"}
            updated.update(changes)
            await tx.replace(DECLARATIONS, updated, expected_version=document["_version"])

    async def on_terms_refused(
        self, tx: Transaction, refused: TermsRefusedV1, envelope: Envelope
    ) -> None:
        """CGU refused before any acceptance: no consent. A refusal of a later version by an
        active holder ends through identity's termination event instead."""
        if refused.declaration_id is None:
            return
        document = await self._declaration_for(tx, refused.declaration_id)
        event = self._envelope(
            DeclarationRefusedV1(
                declaration_id=document["_id"],
                account_id=refused.account_id,
                refused_at=refused.refused_at,
            ),
            subject=subject_of(document["_id"]),
            causation=envelope,
        )
        await self._transition(
            tx,
            document,
            Transition.REFUSE,
            refused.refused_at,
            f"CGU v{refused.terms_version} refused",
            event,
            self._link(document, refused.account_id),
        )

    async def on_account_terminated(
        self, tx: Transaction, terminated: AccountTerminatedV1, envelope: Envelope
    ) -> None:
        if terminated.declaration_id is None:
            return
        document = await self._declaration_for(tx, terminated.declaration_id)
        event = self._envelope(
            DeclarationTerminatedV1(
                declaration_id=document["_id"],
                account_id=terminated.account_id,
                terminated_at=terminated.terminated_at,
            ),
            subject=subject_of(document["_id"]),
            causation=envelope,
        )
        await self._transition(
            tx,
            document,
            Transition.TERMINATE,
            terminated.terminated_at,
            f"account terminated ({terminated.reason.value})",
            event,
        )

    # -- expiry ------------------------------------------------------------------------------

    async def _expire(
        self,
        tx: Transaction,
        document: Document,
        *,
        causation: Envelope | None = None,
        changes: Mapping[str, Any] | None = None,
    ) -> Document | None:
        expires = _expires_at(document)
        assert expires is not None
        event = self._envelope(
            DeclarationExpiredV1(
                declaration_id=document["_id"],
                valid_until=document["valid_until"],
                expired_at=expires,
            ),
            subject=subject_of(document["_id"]),
            causation=causation,
        )
        return await self._transition(
            tx, document, Transition.EXPIRE, expires, "duration over", event, changes
        )

    async def expire_due(self) -> int:
        """Expire every live declaration whose duration is over (catching up on any backlog
        after downtime: it selects by instant, not by "yesterday"). Safe on several replicas:
        a declaration another replica changed first is skipped. Returns how many expired."""
        now = self._clock.now()
        expired = 0
        while True:
            due = await self._store.find(
                DECLARATIONS,
                {
                    "expires_at": {"$lte": to_iso(now)},
                    "status": {"$in": sorted(s.value for s in LIVE)},
                },
                sort=[("expires_at", 1)],
                limit=EXPIRY_BATCH,
            )
            progressed = 0
            for document in due:
                try:
                    async with self._outbox.transaction() as tx:
                        if await self._expire(tx, document) is not None:
                            expired += 1
                            progressed += 1
                except VersionConflictError:
                    log.info("declaration %s changed meanwhile: skipped", document["_id"])
            if len(due) < EXPIRY_BATCH or progressed == 0:
                break
        if expired:
            log.info("%d declarations expired", expired)
        return expired

    async def expire_due_job(self) -> None:
        """`expire_due` as a periodic job."""
        await self.expire_due()

    # -- purge -------------------------------------------------------------------------------

    async def purge(self, declaration_id: str) -> Document:
        """Destroy the declaration's personal data and shred its proofs, keeping a tombstone
        (ids, dates, statuses) so past evidence still resolves. Retention triggers it five
        years after revocation; a live declaration is refused. Safe to rerun after a crash."""
        document = await self.purgeable(declaration_id)
        if document.get("purged_at"):
            return document
        proofs = await self.shred_proofs(document)
        async with self._outbox.transaction() as tx:
            return await self.record_purge(tx, declaration_id, proofs)

    async def purgeable(self, declaration_id: str) -> Document:
        """The declaration if it may be purged (or already is); raises otherwise."""
        document = await self.get(declaration_id)
        if document is None:
            raise DeclarationNotFoundError(declaration_id)
        status = DeclarationStatus(document["status"])
        if not document.get("purged_at") and status in LIVE:
            raise NotPurgeableError(f"a {status.value} declaration cannot be purged")
        return document

    async def shred_proofs(self, document: Document) -> list[ProofShredded]:
        """First step of the purge, outside any transaction (it talks to the vault): destroy
        each proof's wrapped key, then its object. Rerunning it reports keys already gone."""
        journal = _CollectedSteps()
        for proof_id in document.get("proof_ids", []):
            await crypto_shred(
                proof_id,
                keys=self._vault,
                objects=self._vault,
                journal=journal,
                clock=self._clock,
            )
        return journal.shredded()

    async def record_purge(
        self,
        tx: Transaction,
        declaration_id: str,
        proofs: list[ProofShredded],
        cause: Envelope | None = None,
    ) -> Document:
        """Second step, in `tx`: the tombstone replaces the declaration and
        `consent.declaration-purged.v1` is published. If the declaration is already purged,
        nothing changes; with a `cause` (a purge request arriving after the purge: retention
        asked twice, or raced another delivery) the purge is announced again, its instant
        unchanged and its proofs listed without keys, so the requester is never left waiting."""
        document = await tx.get(DECLARATIONS, declaration_id)
        if document is None:
            raise DeclarationNotFoundError(declaration_id)
        subject = subject_of(declaration_id)
        if document.get("purged_at"):
            if cause is not None:
                again = DeclarationPurgedV1(
                    declaration_id=declaration_id,
                    purged_at=from_iso(document["purged_at"]),
                    proofs=[
                        ProofShredded(proof_id=proof_id, dek_id=None)
                        for proof_id in document.get("proof_ids", [])
                    ],
                )
                await self._outbox.add(tx, self._envelope(again, subject=subject, causation=cause))
            return document
        now = self._clock.now()
        tombstone: Document = {
            k: document[k]
            for k in (
                "_id",
                "status",
                "person_kind",
                "scope",
                "valid_until",
                "expires_at",
                "territory",
                "office_id",
                "registered_at",
                "account_id",
                "proof_ids",
                "history",
            )
            if k in document
        }
        tombstone.update({f: document[f] for f in document if f.endswith("_at")})
        tombstone["purged_at"] = to_iso(now)
        event = self._envelope(
            DeclarationPurgedV1(declaration_id=declaration_id, purged_at=now, proofs=proofs),
            subject=subject,
            causation=cause,
        )
        await tx.replace(DECLARATIONS, tombstone, expected_version=document["_version"])
        for proof_id in document.get("proof_ids", []):
            proof = await tx.get(PROOFS, proof_id)
            if proof is not None:
                # The file's type and dates stay; its fingerprint goes with the content.
                kept = {k: proof[k] for k in ("_id", "declaration_id", "type", "received_at")}
                await tx.replace(
                    PROOFS,
                    {**kept, "shredded_at": to_iso(now)},
                    expected_version=proof["_version"],
                )
        for request in await tx.find(RESTRICTIONS, {"declaration_id": declaration_id}):
            await tx.delete(RESTRICTIONS, request["_id"])
        await self._outbox.add(tx, event)
        log.info("declaration %s purged", declaration_id)
        return {**tombstone, "_version": int(document["_version"]) + 1}


class _CollectedSteps:
    """Collects crypto_shred's steps for the purge event."""

    def __init__(self) -> None:
        self.steps: list[ShredStep] = []

    async def record(self, step: ShredStep) -> None:
        self.steps.append(step)

    def shredded(self) -> list[ProofShredded]:
        return [
            ProofShredded(
                proof_id=step.object_id,
                dek_id=step.dek_id,
                kek_id=step.kek_id,
                kek_version=step.kek_version,
                wrapped_key_sha256=step.wrapped_key_sha256,
            )
            for step in self.steps
            if step.kind in {ShredStepKind.KEY_DESTROYED, ShredStepKind.KEY_ALREADY_ABSENT}
        ]


def restriction_view(request: Mapping[str, Any]) -> dict[str, Any]:
    """A restriction or objection request as the person and the operator see it."""
    view = {
        "id": request["_id"],
        "kind": request["kind"],
        "text": request["text"],
        "requested_at": request["requested_at"],
        "state": request["state"],
    }
    if request.get("answered_at"):
        view |= {"reason": request["reason"], "answered_at": request["answered_at"]}
    return view
