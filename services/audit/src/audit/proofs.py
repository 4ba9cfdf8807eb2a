"""The tree and its proofs, read from the stored subtree hashes: the head, any earlier root,
inclusion and consistency proofs, each one batched read of O(log n) nodes."""

from __future__ import annotations

from dataclasses import dataclass

from audit import merkle
from audit.context import Context
from audit.repository import read_nodes
from shared.store.port import DocumentReader


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    path: list[bytes]


async def tree_root(reader: DocumentReader, size: int) -> bytes:
    """`MTH` of the first `size` leaves from the stored nodes."""
    nodes = merkle.subtree_nodes(0, size)
    hashes = await read_nodes(reader, nodes)
    return merkle.fold([hashes[node] for node in nodes])


async def inclusion_proof(reader: DocumentReader, index: int, size: int) -> InclusionProof:
    """The audit path of entry `index` in the tree of `size`: one batched read."""
    plan = merkle.inclusion_plan(index, size)
    leaf = (0, index)
    hashes = await read_nodes(reader, merkle.plan_nodes(plan) | {leaf})
    return InclusionProof(index, size, hashes[leaf], merkle.resolve(plan, hashes))


async def consistency_proof(reader: DocumentReader, first: int, second: int) -> list[bytes]:
    plan = merkle.consistency_plan(first, second)
    return merkle.resolve(plan, await read_nodes(reader, merkle.plan_nodes(plan)))


class Proofs:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def head(self) -> TreeHead:
        tree = (await self.ctx.tree.state()).compact()
        return TreeHead(tree.size, tree.root())

    async def inclusion_proof(self, index: int, size: int) -> InclusionProof:
        """The audit path of entry `index` in the tree of `size` (index < size <= tree size)."""
        return await inclusion_proof(self.ctx.store, index, size)

    async def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return await consistency_proof(self.ctx.store, first, second)

    async def root_at(self, size: int) -> bytes:
        return await tree_root(self.ctx.store, size)
