"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification (pure, no I/O).

The tree is stored as *complete* subtrees only: node `(level, index)` covers the leaves
`[index * 2**level, (index + 1) * 2**level)`; level 0 is the leaf hashes. Such a node never
changes once written, so the writer persists it when it completes and never touches it again.

The hash of any other range the RFC needs (the ragged right edge of a tree whose size is not a
power of two) is folded from the range's decomposition into complete subtrees, largest first.
Proof generation is therefore split in two steps: a *plan* (which complete nodes each proof
element folds, pure arithmetic) and the lookup of those nodes, so a store answers a whole
proof with one batched read of O(log n) nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

HASH_SIZE: Final = 32
LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
"""`(level, index)` of a complete subtree."""

# One proof element: the complete subtrees whose fold (right to left) is its hash.
ProofPlan = list[list[NodeId]]


def leaf_hash(data: bytes) -> bytes:
    """`SHA-256(0x00 || data)`."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """`SHA-256(0x01 || left || right)`."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly below `n` (n >= 2): where RFC 6962 splits a tree."""
    if n < 2:
        raise ValueError("only a tree of two or more leaves splits")
    return 1 << ((n - 1).bit_length() - 1)


def subtree_nodes(start: int, end: int) -> list[NodeId]:
    """The complete subtrees whose fold is `MTH(D[start:end])`, left to right.

    `[start, end)` must be a range the RFC recursion produces (start aligned to the range's
    size rounded up to a power of two), which every proof plan below guarantees.
    """
    nodes: list[NodeId] = []
    while start < end:
        width = 1 << ((end - start).bit_length() - 1)
        level = width.bit_length() - 1
        if start % width:
            raise ValueError(f"[{start}, {end}) is not an RFC 6962 subtree")
        nodes.append((level, start >> level))
        start += width
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its complete subtrees (left to right): combined right to left,
    as the RFC's recursion splits off the largest left subtree first."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_plan(index: int, size: int, *, start: int = 0) -> ProofPlan:
    """RFC 6962 `PATH(index, D[size])`, leaf's sibling first; generalised to the subtree
    `[start, start + size)` (`index` relative to `start`)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    plan: ProofPlan = []
    lo, hi, m = start, start + size, index
    while hi - lo > 1:
        k = split_point(hi - lo)
        if m < k:
            plan.append(subtree_nodes(lo + k, hi))
            hi = lo + k
        else:
            plan.append(subtree_nodes(lo, lo + k))
            lo, m = lo + k, m - k
    plan.reverse()
    return plan


def consistency_plan(size1: int, size2: int) -> ProofPlan:
    """RFC 6962 `PROOF(size1, D[size2])`; empty when size1 is 0 or equals size2."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"no consistency proof from {size1} to {size2}")
    if size1 in (0, size2):
        return []
    plan: ProofPlan = []
    lo, hi, m = 0, size2, size1
    known = True  # the RFC's `b`: the old root is the verifier's, so it is not sent
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            plan.append(subtree_nodes(lo + k, hi))
            hi = lo + k
        else:
            plan.append(subtree_nodes(lo, lo + k))
            lo, m, known = lo + k, m - k, False
    if not known:
        plan.append(subtree_nodes(lo, hi))
    plan.reverse()
    return plan


def plan_nodes(plan: ProofPlan) -> set[NodeId]:
    """Every node a plan reads."""
    return {node for element in plan for node in element}


def resolve(plan: ProofPlan, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """The proof hashes of `plan` from the looked-up node hashes (KeyError if one is missing)."""
    return [fold([nodes[node] for node in element]) for element in plan]


@dataclass
class CompactRange:
    """The right border of the tree `[0, size)`: one complete subtree per set bit of `size`,
    largest first. Enough to append and to compute the root in O(log n)."""

    size: int = 0
    frontier: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.frontier) != self.size.bit_count():
            raise ValueError("a compact range holds one hash per set bit of its size")

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        """Add a leaf hash; returns the complete subtrees this append finished (the leaf
        itself first), which the writer persists."""
        completed: list[tuple[NodeId, bytes]] = [((0, self.size), leaf)]
        node, level = leaf, 0
        while (self.size >> level) & 1:
            node = node_hash(self.frontier.pop(), node)
            level += 1
            completed.append(((level, self.size >> level), node))
        self.frontier.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """`MTH(D[0:size])`."""
        return fold(self.frontier)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """`MTH` of a list of leaf hashes (for verification and tests: O(n))."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


def nodes_in_memory(leaves: Sequence[bytes]) -> Callable[[NodeId], bytes]:
    """A node lookup over an in-memory list of leaf hashes (tests and offline tools)."""
    levels: list[list[bytes]] = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def lookup(node: NodeId) -> bytes:
        level, index = node
        return levels[level][index]

    return lookup


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------------------


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root an inclusion proof leads to, or None if the proof cannot be one for
    `(index, size)`."""
    if not 0 <= index < size or len(leaf) != HASH_SIZE:
        return None
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0 or len(sibling) != HASH_SIZE:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows the leaf hash `leaf` at `index` in the tree of `size` with `root`."""
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree `(size2, root2)` extends `(size1, root1)`.

    As transparency-dev/merkle: size1 == 0 is refused (nothing to prove), equal sizes need an
    empty proof and equal roots.
    """
    if not 0 < size1 <= size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first = second = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first = node_hash(c, first)
            second = node_hash(c, second)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            second = node_hash(second, c)
        fn >>= 1
        sn >>= 1
    return first == root1 and second == root2 and sn == 0
