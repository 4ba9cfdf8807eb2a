"""Outside evidence for signed checkpoints: an RFC 3161 timestamp for each, and witnesses'
cosignatures (C2SP tlog-witness) for the latest.

Both come from a periodic job, after the checkpoint is signed and stored: a TSA or a witness
down never blocks checkpointing, the checkpoint is served without them meanwhile and the job
retries on its next run.

- Timestamps: every checkpoint, oldest first from a cursor, gets a token over SHA-256 of its
  signed note (as stored: the log's signature only). The TSA's reply is verified against the
  pinned chain before it is kept (`shared.timestamps`); a failure stops the run and the same
  checkpoint is tried first next time.
- Witnesses: the latest checkpoint goes to each configured witness with the consistency proof
  from the size that witness last cosigned (remembered per witness; a 409 tells the witness's
  size, which is used once if this journal can prove from it). A returned line is kept only if it
  verifies with that witness's pinned key over this very checkpoint.

Kept in the `journal_attestations` collection, one document per checkpoint size (the
checkpoint's own document is left as it was signed), and `journal_witnesses` (per witness: the
size it last cosigned).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypedDict

import httpx

from audit.checkpoint import add_checkpoint_request
from audit.checkpoints import Checkpoints, StoredCheckpoint
from audit.journal import Journal
from audit.records import checkpoint_key
from audit.settings import Settings
from shared.clock import Clock
from shared.cosignature import CosignerVerifier, add_cosignatures, verify_cosignatures
from shared.crypto import ConfigurationError, IntegrityError
from shared.store.port import DocumentStore, to_iso
from shared.timestamps import TimestampError, TsaTrust, fetch_timestamp

log = logging.getLogger(__name__)

ATTESTATIONS: Final = "journal_attestations"
WITNESS_STATE: Final = "journal_witnesses"
CURSOR: Final = "timestamp-cursor"
TIMESTAMPS_PER_RUN: Final = 20


class AttestationChanges(TypedDict, total=False):
    """What the job adds to a checkpoint's attestation document."""

    timestamp: str
    timestamp_time: str
    cosignatures: list[str]


@dataclass(frozen=True)
class Attestation:
    """A checkpoint's outside evidence so far: the TSA's reply (base64), witnesses' lines."""

    timestamp: str | None
    cosignatures: list[str]


@dataclass(frozen=True)
class TsaEndpoint:
    url: str
    trust: TsaTrust


@dataclass(frozen=True)
class WitnessEndpoint:
    url: str
    """The witness's submission prefix (`<url>/add-checkpoint` is posted to)."""
    key: CosignerVerifier


@dataclass
class EvidenceStats:
    timestamps_obtained: int = 0
    timestamps_failed: int = 0
    cosignatures_obtained: int = 0
    cosignatures_refused: int = 0
    witnesses_unreachable: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


class Evidence:
    @property
    def configured(self) -> bool:
        return self.tsa is not None or bool(self.witnesses)

    def __init__(
        self,
        store: DocumentStore,
        clock: Clock,
        journal: Journal,
        checkpoints: Checkpoints,
        *,
        tsa: TsaEndpoint | None = None,
        witnesses: Sequence[WitnessEndpoint] = (),
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._journal = journal
        self._checkpoints = checkpoints
        self.tsa = tsa
        self.witnesses = tuple(witnesses)
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        self.stats = EvidenceStats()

    async def close(self) -> None:
        await self._http.aclose()

    async def run(self) -> None:
        """One pass of the job: timestamps first (they cover every checkpoint), then
        cosignatures of the latest."""
        if self.tsa is not None:
            await self.timestamp_pending(self.tsa)
        if self.witnesses:
            latest = await self._checkpoints.latest()
            if latest is not None:
                for witness in self.witnesses:
                    await self.cosign(latest, witness)

    # -- reading --------------------------------------------------------------------------

    async def _attestation(self, size: int) -> Attestation | None:
        found = await self._store.get(ATTESTATIONS, checkpoint_key(size))
        if found is None:
            return None
        return Attestation(found.get("timestamp"), list(found.get("cosignatures", [])))

    async def timestamp(self, size: int) -> bytes | None:
        """The TSA's reply (DER TimeStampResp) over checkpoint `size`'s note, once obtained."""
        found = await self._attestation(size)
        if found is None or not found.timestamp:
            return None
        return base64.b64decode(found.timestamp)

    async def cosignatures(self, size: int) -> list[str]:
        found = await self._attestation(size)
        return found.cosignatures if found else []

    async def cosigned(self, checkpoint: StoredCheckpoint) -> str:
        """The checkpoint's note with the witnesses' cosignature lines appended (as the
        tlog-witness spec suggests: a client verifies them as note signatures)."""
        lines = await self.cosignatures(checkpoint.checkpoint.size)
        return add_cosignatures(checkpoint.note, lines) if lines else checkpoint.note

    async def _save(self, size: int, changes: AttestationChanges) -> None:
        key = checkpoint_key(size)
        if await self._store.get(ATTESTATIONS, key) is None:
            await self._store.insert(
                ATTESTATIONS, {"_id": key, "size": size, "timestamp": None, "cosignatures": []}
            )
        await self._store.update(ATTESTATIONS, {"_id": key}, changes)

    # -- timestamps -----------------------------------------------------------------------

    async def timestamp_pending(self, tsa: TsaEndpoint) -> int:
        """Timestamp the checkpoints after the cursor, oldest first; how many got a token."""
        # The cursor is the smallest size not timestamped yet (the empty tree's too).
        cursor = await self._store.get(WITNESS_STATE, CURSOR)
        pending = await self._checkpoints.since(
            int(cursor["size"]) if cursor else 0, TIMESTAMPS_PER_RUN
        )
        obtained = 0
        for checkpoint in pending:
            message = checkpoint.note.encode("utf-8")
            try:
                reply, verified = await fetch_timestamp(self._http, tsa.url, message, tsa.trust)
            except TimestampError as error:
                self.stats.timestamps_failed += 1
                log.warning(
                    "no timestamp for checkpoint %d yet (%s); retrying next run",
                    checkpoint.checkpoint.size,
                    error,
                )
                break
            size = checkpoint.checkpoint.size
            await self._save(
                size,
                {
                    "timestamp": base64.b64encode(reply).decode("ascii"),
                    "timestamp_time": to_iso(verified.time),
                },
            )
            await self._set_state(CURSOR, size + 1)
            self.stats.timestamps_obtained += 1
            obtained += 1
        return obtained

    async def _set_state(self, key: str, size: int) -> None:
        if await self._store.get(WITNESS_STATE, key) is None:
            await self._store.insert(WITNESS_STATE, {"_id": key, "size": size})
        else:
            await self._store.update(WITNESS_STATE, {"_id": key}, {"size": size})

    # -- witnesses ------------------------------------------------------------------------

    async def cosign(self, checkpoint: StoredCheckpoint, witness: WitnessEndpoint) -> bool:
        """Get `witness`'s cosignature of `checkpoint` unless it is kept already; whether one
        is kept after this call."""
        size = checkpoint.checkpoint.size
        kept = add_cosignatures(checkpoint.note, await self.cosignatures(size))
        if verify_cosignatures(kept, [witness.key]):
            return True
        state_key = f"witness:{witness.key.name}+{witness.key.key_hash.hex()}"
        state = await self._store.get(WITNESS_STATE, state_key)
        old = int(state["size"]) if state else 0
        for _attempt in range(2):
            outcome = await self._submit(checkpoint, witness, old)
            if isinstance(outcome, str):
                await self._save(size, {"cosignatures": [*await self.cosignatures(size), outcome]})
                await self._set_state(state_key, size)
                self.stats.cosignatures_obtained += 1
                return True
            if outcome is None or outcome == old or outcome > size:
                if outcome is not None and outcome > size:
                    log.error(
                        "witness %s cosigned size %d, beyond this journal's %d",
                        witness.key.name,
                        outcome,
                        size,
                    )
                return False
            old = outcome  # the witness told its size: prove from there
            await self._set_state(state_key, old)
        return False

    async def _submit(
        self, checkpoint: StoredCheckpoint, witness: WitnessEndpoint, old: int
    ) -> str | int | None:
        """The verified cosignature line; or the witness's size on a 409; or None."""
        size = checkpoint.checkpoint.size
        proof = await self._journal.consistency_proof(old, size) if 0 < old < size else []
        body = add_checkpoint_request(old, proof, checkpoint.note)
        try:
            response = await self._http.post(
                f"{witness.url.rstrip('/')}/add-checkpoint", content=body.encode("utf-8")
            )
        except httpx.HTTPError as error:
            self.stats.witnesses_unreachable += 1
            log.warning("witness %s unreachable (%s)", witness.key.name, type(error).__name__)
            return None
        if response.status_code == 409:
            try:
                return int(response.text.strip())
            except ValueError:
                return None
        if response.status_code != 200:
            self.stats.cosignatures_refused += 1
            log.error(
                "witness %s refused checkpoint %d from %d: HTTP %d",
                witness.key.name,
                size,
                old,
                response.status_code,
            )
            return None
        return self._verified_line(checkpoint, witness, response.text)

    def _verified_line(
        self, checkpoint: StoredCheckpoint, witness: WitnessEndpoint, text: str
    ) -> str | None:
        try:
            found = verify_cosignatures(add_cosignatures(checkpoint.note, [text]), [witness.key])
        except IntegrityError as error:
            found = []
            log.error("witness %s sent a bad cosignature: %s", witness.key.name, error)
        if not found:
            self.stats.cosignatures_refused += 1
            return None
        return found[0].line


def evidence_from_settings(
    settings: Settings,
    store: DocumentStore,
    clock: Clock,
    journal: Journal,
    checkpoints: Checkpoints,
) -> Evidence:
    """The job as configured; ConfigurationError for a TSA without its pinned chain or a
    witness key that is not a cosignature/v1 key."""
    tsa = None
    if settings.tsa_url:
        if settings.tsa_chain_file is None:
            raise ConfigurationError("tsa_url needs tsa_chain_file (the pinned TSA chain)")
        try:
            tsa = TsaEndpoint(settings.tsa_url, TsaTrust.from_file(settings.tsa_chain_file))
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"TSA chain {settings.tsa_chain_file}: {error}") from None
    try:
        witnesses = [
            WitnessEndpoint(w.url, CosignerVerifier.from_string(w.verifier_key))
            for w in settings.witnesses
        ]
    except ValueError as error:
        raise ConfigurationError(f"witness verifier key: {error}") from None
    return Evidence(store, clock, journal, checkpoints, tsa=tsa, witnesses=witnesses)
