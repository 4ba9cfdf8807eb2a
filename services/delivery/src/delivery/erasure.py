"""Crypto-shredding of a terminated account's acts (issue 9, CGU §12, DESIGN §6).

Retention asks with `retention.account-acts-erasure-requested.v1`; delivery answers with
`delivery.account-acts-erased.v1` once every act and reply of the account is unreadable.

Per act, in this order:

1. one transaction destroys the wrapped DEKs (the act's, its judge's leave's, its replies'),
   records a `key_destroyed` step for each (with the fingerprint of the destroyed wrapped key,
   never the key) and turns the act and its replies into tombstones: ids, SHA-256, dates and
   quality stay; titles, names, references and file names go. From this commit on, every copy
   of the ciphertext is unreadable, and the record says so;
2. the S3 objects are deleted and an `object_deleted` step is recorded for each; the tombstone
   then carries `objects_deleted_at`.

A crash between the two leaves a tombstone without `objects_deleted_at`: the next request
finishes the deletions. A second request (or a redelivery) erases nothing twice and confirms
again with the same list, built from the tombstones.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from delivery.parties import ACTS
from delivery.service import REPLIES, ActStatus
from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.contracts.retention import AccountActsErasedV1, ErasedAct
from shared.crypto import ShredStepKind, WrappedDek
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore, Index, Transaction, from_iso, to_iso
from shared.vault import EncryptedObjects

log = logging.getLogger(__name__)

ERASURE_STEPS: Final = "erasure_steps"
ERASURE_INDEXES: Final = (Index(ERASURE_STEPS, ("act_id", "at")),)

EnvelopeFactory = Callable[..., Envelope]

# What an act's tombstone keeps: ids, fingerprint, dates and quality (no content, no names,
# no titles or references). `recipient_account_id` and `office_id` are pseudonymous ids that
# let the recipient be told "erased" (410) rather than "unknown", the office see its
# tombstone, and a second request list the same acts.
_ACT_KEPT: Final = (
    "_id",
    "office_id",
    "recipient_account_id",
    "sha256",
    "size",
    "submitted_at",
    "served_at",
    "handed_over_at",
    "quality",
    "determined_at",
)
_REPLY_KEPT: Final = ("_id", "act_id", "office_id", "recipient_account_id", "received_at", "sha256")


def _cursor(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    updated = to_iso(now)
    row["updated_at"] = updated
    row["cursor"] = f"{updated}|{row['_id']}"
    return row


class ActEraser:
    """Crypto-shreds every act (with its judge's leave and replies) of an account."""

    def __init__(
        self,
        store: DocumentStore,
        outbox: Outbox,
        clock: Clock,
        acts: EncryptedObjects,
        replies: EncryptedObjects,
        envelope: EnvelopeFactory,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._acts = acts
        self._replies = replies
        self._envelope = envelope

    async def erase_account(self, account_id: str, erasure_id: str) -> int:
        """Shred every act of `account_id` not yet shredded and finish the deletions a crash
        interrupted. Returns how many acts were shredded now. Safe to run again."""
        shredded = 0
        rows = await self._store.find(ACTS, {"recipient_account_id": account_id}, sort=[("_id", 1)])
        for row in rows:
            act = row
            if act["status"] != ActStatus.ERASED:
                act = await self._shred_keys(act, erasure_id)
                shredded += 1
            if act.get("objects_deleted_at") is None:
                await self._delete_objects(act, erasure_id)
        if shredded:
            log.info("erasure %s: %d act(s) crypto-shredded", erasure_id, shredded)
        return shredded

    async def _shred_keys(self, act: dict[str, Any], erasure_id: str) -> dict[str, Any]:
        now = self._clock.now()
        async with self._store.transaction() as tx:
            replies = await tx.find(REPLIES, {"act_id": act["_id"]}, sort=[("_id", 1)])
            objects: list[tuple[EncryptedObjects, str]] = [(self._acts, act["_id"])]
            if act.get("judge_leave"):
                objects.append((self._acts, act["judge_leave"]["object_id"]))
            objects.extend((self._replies, reply["_id"]) for reply in replies)
            # Key first (DESIGN §6): once this commits, every copy of the ciphertext is noise.
            for vault, object_id in objects:
                await self._destroy_key(tx, vault, object_id, act["_id"], erasure_id, now)
            for reply in replies:
                kept: dict[str, Any] = {k: reply[k] for k in _REPLY_KEPT if k in reply}
                kept["erased_at"] = to_iso(now)
                await tx.replace(REPLIES, kept, expected_version=reply["_version"])
            tombstone = {k: act.get(k) for k in _ACT_KEPT}
            tombstone.update(
                {
                    "status": ActStatus.ERASED,
                    "erased_status": act["status"],
                    "erased_at": to_iso(now),
                    "erasure_id": erasure_id,
                    "objects": [
                        {"keys": vault.keys_collection, "object_id": object_id}
                        for vault, object_id in objects
                    ],
                    "reply_ids": [reply["_id"] for reply in replies],
                    "objects_deleted_at": None,
                }
            )
            return await tx.replace(ACTS, _cursor(tombstone, now), expected_version=act["_version"])

    async def _destroy_key(
        self,
        tx: Transaction,
        vault: EncryptedObjects,
        object_id: str,
        act_id: str,
        erasure_id: str,
        now: datetime,
    ) -> None:
        row = await tx.get(vault.keys_collection, object_id)
        step: dict[str, Any] = {
            "_id": f"{object_id}:key",
            "act_id": act_id,
            "object_id": object_id,
            "erasure_id": erasure_id,
            "at": to_iso(now),
        }
        if row is None:
            # A rejected act's or a never-committed upload's key was never kept or is gone.
            step["kind"] = ShredStepKind.KEY_ALREADY_ABSENT.value
        else:
            await tx.delete(vault.keys_collection, object_id)
            wrapped = WrappedDek.model_validate(row["wrapped"])
            step.update(
                {
                    "kind": ShredStepKind.KEY_DESTROYED.value,
                    "dek_id": wrapped.dek_id.hex(),
                    "kek_id": wrapped.kek_id,
                    "kek_version": wrapped.kek_version,
                    "wrapped_key_sha256": hashlib.sha256(wrapped.to_bytes()).hexdigest(),
                }
            )
        await tx.insert(ERASURE_STEPS, step)

    async def _delete_objects(self, act: Mapping[str, Any], erasure_id: str) -> None:
        vaults = {v.keys_collection: v for v in (self._acts, self._replies)}
        for entry in act.get("objects") or []:
            await vaults[entry["keys"]].delete_object(entry["object_id"])
            step_id = f"{entry['object_id']}:object"
            if await self._store.get(ERASURE_STEPS, step_id) is None:
                await self._store.insert(
                    ERASURE_STEPS,
                    {
                        "_id": step_id,
                        "act_id": act["_id"],
                        "object_id": entry["object_id"],
                        "erasure_id": erasure_id,
                        "kind": ShredStepKind.OBJECT_DELETED.value,
                        "at": to_iso(self._clock.now()),
                    },
                )
        current = await self._store.get(ACTS, act["_id"])
        assert current is not None
        current["objects_deleted_at"] = to_iso(self._clock.now())
        await self._store.replace(ACTS, current, expected_version=current.pop("_version"))

    async def confirm(
        self, tx: Transaction, account_id: str, erasure_id: str, request: Envelope
    ) -> AccountActsErasedV1:
        """Publish `delivery.account-acts-erased.v1` (in `tx`): every act ever served to the
        account, from its tombstone. Refuses to confirm while an act is not fully erased."""
        rows = await tx.find(ACTS, {"recipient_account_id": account_id}, sort=[("_id", 1)])
        unfinished = [
            r["_id"]
            for r in rows
            if r["status"] != ActStatus.ERASED or r.get("objects_deleted_at") is None
        ]
        if unfinished:
            raise ErasureIncompleteError(len(unfinished))
        served = [r for r in rows if r.get("served_at")]
        acts = [
            ErasedAct(
                act_id=r["_id"],
                sha256=r["sha256"],
                served_at=from_iso(r["served_at"]),
                erased_at=from_iso(r["erased_at"]),
                reply_ids=list(r.get("reply_ids") or []),
            )
            for r in served
        ]
        erased_at = max((a.erased_at for a in acts), default=self._clock.now())
        confirmation = AccountActsErasedV1(
            erasure_id=erasure_id, account_id=account_id, acts=acts, erased_at=erased_at
        )
        await self._outbox.add(
            tx,
            self._envelope(
                confirmation,
                subject=f"account:{account_id}",
                actor="service:delivery",
                causation=request,
            ),
        )
        return confirmation


class ErasureIncompleteError(RuntimeError):
    """An act of the account is not fully erased yet (a concurrent request is at work): the
    confirmation waits for the redelivery rather than listing a partial erasure."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} act(s) not fully erased yet")
