"""Evidence of an act's life, named after ETSI EN 319 522 and signed by the platform key.

Each step (submission accepted or rejected, content consigned, notification sent or failed,
content handed over, quality determined, lettre-simple task issued, lettre simple posted…)
becomes an evidence record at the moment it happens, in the same transaction as the state
change, signed with Ed25519 over its RFC 8785 canonical JSON. `GET …/evidence` returns the
act's records as a set, itself signed.
`verify_evidence_set` checks a saved set offline with only the platform's public key: every
record's signature, the set's signature, and that every record names the same act and SHA-256.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from delivery.acts import Act
from shared.canonical import canonical_json
from shared.crypto import SigningKeyRing, VerifierKey
from shared.ids import new_id
from shared.jsondoc import JsonObject
from shared.store.port import Transaction, to_iso
from shared.telemetry import ACT_ID, span

EVIDENCE: Final = "evidence"
SET_FORMAT: Final = "securact-ng/evidence-set/v1"
RECORD_FORMAT: Final = "securact-ng/evidence/v1"
RECEIPT_FIELDS: Final = frozenset(
    {"journal_index", "receipt", "receipt_reason", "checkpoint_timestamp"}
)
"""Added to each record in a set, after the record was signed: covered by the set's signature
only (a receipt verifies on its own, against the audit journal's checkpoint key)."""
ALGORITHM: Final = "Ed25519"


class EvidenceType(StrEnum):
    """ETSI EN 319 522-1 evidence names (and the platform's quality determination)."""

    SUBMISSION_ACCEPTANCE = "SubmissionAcceptance"
    SUBMISSION_REJECTION = "SubmissionRejection"
    CONTENT_CONSIGNMENT = "ContentConsignment"
    CONSIGNMENT_NOTIFICATION = "ConsignmentNotification"
    CONSIGNMENT_NOTIFICATION_FAILURE = "ConsignmentNotificationFailure"
    CONTENT_HANDOVER = "ContentHandover"
    QUALITY_DETERMINATION = "ServiceQualityDetermination"
    LETTRE_SIMPLE_TASK_ISSUED = "LettreSimpleTaskIssued"
    """The platform's: the office was asked to post the lettre simple (not that it did)."""
    RELAY_TO_NON_ERDS = "RelayToNonERDS"
    """The office declared the lettre simple posted (date, tracking reference)."""
    REPLY_RECEIVED = "ReplyReceived"
    SERVED_AFTER_CONSENT_END = "ServedAfterConsentEnd"
    """The platform's, negative: the act was served at or after its consent's end, learnt
    later (reasons: which end, when decided, when learnt)."""


def canonical(document: Mapping[str, Any]) -> bytes:
    """RFC 8785 (JCS) canonical JSON: the bytes every signature covers."""
    return canonical_json(dict(document))


async def _signature(ring: SigningKeyRing, document: Mapping[str, Any]) -> dict[str, str]:
    # Off the event loop when the key is in an HSM (a signature is a device round trip).
    detached = await ring.sign_async(canonical(document))
    return {
        "alg": ALGORITHM,
        "kid": detached.kid,
        "value": base64.b64encode(detached.signature).decode("ascii"),
    }


class EvidenceSigner:
    """Signs and stores evidence records; assembles and signs an act's evidence set."""

    def __init__(self, ring: SigningKeyRing, *, platform: str = "service:delivery") -> None:
        self._ring = ring
        self._platform = platform

    @property
    def public_keys(self) -> list[str]:
        """The C2SP verifier key strings of every published key (for offline checks)."""
        return self._ring.verifier_keys()

    async def attest(
        self,
        tx: Transaction,
        act: Act,
        *,
        kind: EvidenceType,
        instant: datetime,
        actors: Mapping[str, str],
        details: Mapping[str, Any] | None = None,
        event_id: str | None = None,
    ) -> None:
        """Sign and store, in `tx`, the evidence of one step of `act`'s life."""
        await self.store(
            tx,
            await self.record(
                evidence_id=new_id(instant),
                kind=kind,
                act_id=act.id,
                act_sha256=act.sha256,
                instant=instant,
                actors=actors,
                details=details,
                event_id=event_id,
            ),
        )

    async def record(
        self,
        *,
        evidence_id: str,
        kind: EvidenceType,
        act_id: str,
        act_sha256: str | None,
        instant: datetime,
        actors: Mapping[str, str],
        details: Mapping[str, Any] | None = None,
        event_id: str | None = None,
    ) -> JsonObject:
        """A signed evidence record: a JSON document, untyped as it is signed (`details` vary by
        type), typed when read (`delivery.views.EvidenceRecord`)."""
        body: JsonObject = {
            "format": RECORD_FORMAT,
            "evidence_id": evidence_id,
            "type": kind.value,
            "act_id": act_id,
            "act_sha256": act_sha256,
            "instant": to_iso(instant),
            "actors": {"platform": self._platform, **actors},
            "details": dict(details or {}),
            "event_id": event_id,
        }
        with span("evidence signing", attributes={ACT_ID: act_id, "securact.evidence": kind}):
            return {**body, "signature": await _signature(self._ring, body)}

    async def store(self, tx: Transaction, record: Mapping[str, Any]) -> None:
        """Keep a signed record with the state change it proves (same transaction)."""
        await tx.insert(
            EVIDENCE,
            {
                "_id": record["evidence_id"],
                "act_id": record["act_id"],
                "instant": record["instant"],
                "record": dict(record),
            },
        )

    async def evidence_set(
        self, act_id: str, act_sha256: str, records: Sequence[Mapping[str, Any]], now: datetime
    ) -> JsonObject:
        """The act's records in time order, wrapped and signed as one set."""
        body: JsonObject = {
            "format": SET_FORMAT,
            "act_id": act_id,
            "act_sha256": act_sha256,
            "generated_at": to_iso(now),
            "evidence": [dict(r) for r in records],
        }
        return {**body, "signature": await _signature(self._ring, body)}


class EvidenceVerificationError(ValueError):
    """A saved evidence set does not verify; the message says which part."""


def _check_signature(
    document: Mapping[str, Any],
    key: VerifierKey,
    what: str,
    unsigned: frozenset[str] = frozenset(),
) -> None:
    signature = document.get("signature")
    if not isinstance(signature, Mapping):
        raise EvidenceVerificationError(f"{what}: no signature")
    if signature.get("alg") != ALGORITHM:
        raise EvidenceVerificationError(f"{what}: unsupported algorithm")
    if signature.get("kid") != key.key_id:
        raise EvidenceVerificationError(f"{what}: signed by key {signature.get('kid')!r}")
    try:
        raw = base64.b64decode(str(signature.get("value", "")), validate=True)
    except (binascii.Error, ValueError):
        raise EvidenceVerificationError(f"{what}: malformed signature") from None
    body = {k: v for k, v in document.items() if k != "signature" and k not in unsigned}
    if not key.verify(canonical(body), raw):
        raise EvidenceVerificationError(f"{what}: signature does not verify")


def verify_evidence_set(document: Mapping[str, Any], keys: Sequence[VerifierKey]) -> list[str]:
    """Verify a saved evidence set with the platform's public key(s); returns the evidence
    types in order. Raises `EvidenceVerificationError` on the first failure."""
    if document.get("format") != SET_FORMAT:
        raise EvidenceVerificationError("not a SECURACT-NG evidence set")
    by_id = {key.key_id: key for key in keys}
    if not by_id:
        raise EvidenceVerificationError("no public key given")

    def key_for(part: Mapping[str, Any], what: str) -> VerifierKey:
        signature = part.get("signature")
        kid = signature.get("kid") if isinstance(signature, Mapping) else None
        key = by_id.get(str(kid))
        if key is None:
            raise EvidenceVerificationError(f"{what}: signed by an unknown key {kid!r}")
        return key

    _check_signature(document, key_for(document, "evidence set"), "evidence set")
    records = document.get("evidence")
    if not isinstance(records, list) or not records:
        raise EvidenceVerificationError("the set holds no evidence")
    types: list[str] = []
    for index, record in enumerate(records):
        what = f"evidence #{index + 1}"
        if not isinstance(record, Mapping):
            raise EvidenceVerificationError(f"{what}: not an object")
        _check_signature(record, key_for(record, what), what, RECEIPT_FIELDS)
        if record.get("act_id") != document.get("act_id"):
            raise EvidenceVerificationError(f"{what}: about another act")
        sha = record.get("act_sha256")
        if sha is not None and sha != document.get("act_sha256"):
            raise EvidenceVerificationError(f"{what}: names another SHA-256")
        types.append(str(record.get("type")))
    return types
