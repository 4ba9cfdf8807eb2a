"""Proofs and receipts as served: inclusion and consistency proofs up to the latest signed
checkpoint's size, and an entry's tlog-proof under that checkpoint (`audit.checkpoint`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from audit.checkpoints import Checkpoints, StoredCheckpoint
from audit.errors import NotYetCheckpointed, SizeNotProvable
from audit.proofs import Proofs
from audit.reads import Reads
from audit.views import ConsistencyView, InclusionView


class Receipts:
    def __init__(
        self,
        reads: Reads,
        proofs: Proofs,
        checkpoints: Checkpoints,
        note: Callable[[StoredCheckpoint], Awaitable[str]] | None = None,
    ) -> None:
        self._reads = reads
        self._proofs = proofs
        self._checkpoints = checkpoints
        self._note = note

    async def inclusion(self, index: int, size: int | None) -> InclusionView:
        """Entry `index`'s audit path in the tree of `size` (by default the latest signed)."""
        limit = await self._checkpoints.signed_size()
        size = size or limit
        if size > limit or size == 0:
            raise SizeNotProvable.beyond_signed(limit)
        await self._reads.existing(index)
        if index >= size:
            raise SizeNotProvable(f"entry {index} is not in the tree of size {size}")
        proof = await self._proofs.inclusion_proof(index, size)
        return InclusionView(
            index=index,
            size=size,
            leaf_hash=proof.leaf_hash.hex(),
            audit_path=[h.hex() for h in proof.path],
            root=(await self._proofs.root_at(size)).hex(),
        )

    async def consistency(self, first: int, second: int | None) -> ConsistencyView:
        """The proof that the tree of `first` is a prefix of the tree of `second` (by default
        the latest signed)."""
        limit = await self._checkpoints.signed_size()
        second = second or limit
        if second > limit:
            raise SizeNotProvable.beyond_signed(limit)
        if first > second:
            raise SizeNotProvable(f"first ({first}) is beyond second ({second})")
        proof = await self._proofs.consistency_proof(first, second)
        return ConsistencyView(
            first=first,
            second=second,
            first_root=(await self._proofs.root_at(first)).hex(),
            second_root=(await self._proofs.root_at(second)).hex(),
            consistency_path=[h.hex() for h in proof],
        )

    async def receipt(self, index: int) -> str:
        """The entry's C2SP tlog-proof under the latest checkpoint, as text: the checkpoint as
        served, with the witnesses' cosignatures (a verifier ignores the lines of keys it does
        not know)."""
        await self._reads.existing(index)
        found = await self._checkpoints.receipt(index, self._note)
        if found is None:
            raise NotYetCheckpointed(index)
        return found.to_text()
