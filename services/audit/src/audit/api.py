"""Audit's read API: checkpoints, entries, proofs and receipts.

Everything but payloads is public: a third party verifies the log with the checkpoints, the
leaves and the proofs alone. A payload is shown to the operator, and to the offices and
recipients that may read that very entry (`audit.domain`: its own parties and, unless it is a
consultation, its subject's owners); anonymous callers get the leaf fields only.

`payload_state` says why a payload is or is not shown: `available`, `withheld` (not for this
caller), `shredded` (its subject's key is destroyed), `absent` (never kept) or `corrupt` (kept
but fails its integrity check: `securact-audit verify` names every such index).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse

from audit.domain import entry_leaf_hash
from audit.service import MAX_PAGE, Checkpoints, Journal, StoredCheckpoint
from audit.vault import PayloadState
from shared.auth import Principal, current_principal
from shared.openapi import problem_responses
from shared.refusals import Refusal

TEXT: Final = "text/plain; charset=utf-8"
OPERATOR_ROLES: Final = frozenset({"operator"})
OFFICE_ROLES: Final = frozenset({"office", "bailiff"})
RECIPIENT_ROLES: Final = frozenset({"recipient"})


async def optional_principal(request: Request) -> Principal | None:
    """The verified caller, or None for an anonymous request (a bad token is still a 401)."""
    if request.headers.get("Authorization") is None:
        return None
    return await current_principal(request)


def may_read_payload(principal: Principal | None, readers: frozenset[str]) -> bool:
    """Operators read every payload; an office or recipient only those of the entries it is
    a reader of (`audit.vault.StoredPayload.readers`)."""
    if principal is None or principal.role is None:
        return False
    if principal.role in OPERATOR_ROLES:
        return True
    if principal.role in OFFICE_ROLES and principal.office_id:
        return f"office:{principal.office_id}" in readers
    if principal.role in RECIPIENT_ROLES:
        return f"recipient:{principal.subject}" in readers
    return False


class EntryNotFound(Refusal):
    status = 404
    code = "entry-not-found"
    title = "No such entry"

    def __init__(self, index: int, request: Request) -> None:
        super().__init__(f"the journal has no entry {index}", instance=str(request.url.path))


class SizeNotProvable(Refusal):
    status = 400
    code = "size-not-checkpointed"
    title = "Size not provable"

    def __init__(self, detail: str, request: Request) -> None:
        super().__init__(detail, instance=str(request.url.path))

    @classmethod
    def beyond_signed(cls, limit: int, request: Request) -> SizeNotProvable:
        return cls(f"proofs go up to the latest checkpoint's size ({limit})", request)


class NoCheckpoint(Refusal):
    status = 404
    code = "no-checkpoint"
    title = "No checkpoint yet"

    def __init__(self, request: Request) -> None:
        super().__init__(
            "the journal has not signed a checkpoint yet", instance=str(request.url.path)
        )


class NotYetCheckpointed(Refusal):
    status = 409
    code = "entry-not-checkpointed"
    title = "Not yet checkpointed"

    def __init__(self, index: int, request: Request) -> None:
        super().__init__(
            f"entry {index} is not covered by a signed checkpoint yet; retry shortly",
            instance=str(request.url.path),
            headers={"Retry-After": "5"},
        )


def journal_router(
    journal: Journal,
    checkpoints: Checkpoints,
    note: Callable[[StoredCheckpoint], Awaitable[str]] | None = None,
) -> APIRouter:
    """`note` gives the served text of a checkpoint (with its witnesses' cosignatures when
    witnesses are configured); by default the log-signed note alone."""
    router = APIRouter(prefix="/v1", tags=["journal"])

    @router.get("/checkpoint", response_class=PlainTextResponse, responses=problem_responses(404))
    async def checkpoint(request: Request) -> PlainTextResponse:
        """The latest signed checkpoint (C2SP signed note, with any cosignatures)."""
        latest = await checkpoints.latest()
        if latest is None:
            raise NoCheckpoint(request)
        text = await note(latest) if note is not None else latest.note
        return PlainTextResponse(text, media_type=TEXT)

    async def signed_size() -> int:
        latest = await checkpoints.latest()
        return latest.checkpoint.size if latest else 0

    @router.get("/checkpoints")
    async def list_checkpoints(
        from_size: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        found = await checkpoints.since(from_size, limit)
        return {"checkpoints": [c.to_json() for c in found]}

    @router.get("/entries")
    async def list_entries(
        subject: Annotated[str | None, Query(max_length=200)] = None,
        type: Annotated[str | None, Query(max_length=200)] = None,
        event_id: Annotated[
            str | None, Query(max_length=200, description="exact event id (for receipts)")
        ] = None,
        after: Annotated[int, Query(ge=-1, description="return entries after this index")] = -1,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        entries = await journal.entries(
            subject=subject, event_type=type, event_id=event_id, after=after, limit=limit
        )
        next_after = entries[-1]["index"] if len(entries) == limit else None
        return {"entries": entries, "next_after": next_after}

    @router.get("/entries/{index}")
    async def get_entry(
        index: Annotated[int, Path(ge=0)],
        request: Request,
        principal: Annotated[Principal | None, Depends(optional_principal)],
    ) -> dict[str, Any]:
        entry = await journal.entry(index)
        if entry is None:
            raise EntryNotFound(index, request)
        body: dict[str, Any] = {**entry, "leaf_hash": entry_leaf_hash(entry).hex()}
        # Decided on this entry's readers, before anything is decrypted.
        stored = await journal.stored_payload(entry)
        if stored.shredded:
            body["payload_state"] = PayloadState.SHREDDED.value
            return body
        if not may_read_payload(principal, stored.readers()):
            body["payload_state"] = PayloadState.WITHHELD.value
            return body
        opened = await journal.open_payload(stored)
        body["payload_state"] = opened.state.value
        if opened.state is PayloadState.AVAILABLE and opened.record is not None:
            record = opened.record
            body["payload"] = record["payload"]
            body["payload_salt"] = record["salt"]
            for name in ("actor", "correlation_id", "causation_id"):
                body[name] = record[name]
        return body

    @router.get("/proofs/inclusion", responses=problem_responses(400, 404))
    async def inclusion(
        request: Request,
        index: Annotated[int, Query(ge=0)],
        size: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        limit = await signed_size()
        size = size or limit
        if size > limit or size == 0:
            raise SizeNotProvable(
                f"proofs go up to the latest checkpoint's size ({limit})", request
            )
        if await journal.entry(index) is None:
            raise EntryNotFound(index, request)
        if index >= size:
            raise SizeNotProvable(f"entry {index} is not in the tree of size {size}", request)
        proof = await journal.inclusion_proof(index, size)
        return {
            "index": index,
            "size": size,
            "leaf_hash": proof.leaf_hash.hex(),
            "audit_path": [h.hex() for h in proof.path],
            "root": (await journal.root_at(size)).hex(),
        }

    @router.get("/proofs/consistency", responses=problem_responses(400))
    async def consistency(
        request: Request,
        first: Annotated[int, Query(ge=1)],
        second: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        limit = await signed_size()
        second = second or limit
        if second > limit:
            raise SizeNotProvable(
                f"proofs go up to the latest checkpoint's size ({limit})", request
            )
        if first > second:
            raise SizeNotProvable(f"first ({first}) is beyond second ({second})", request)
        proof = await journal.consistency_proof(first, second)
        return {
            "first": first,
            "second": second,
            "first_root": (await journal.root_at(first)).hex(),
            "second_root": (await journal.root_at(second)).hex(),
            "consistency_path": [h.hex() for h in proof],
        }

    @router.get("/receipts/{index}", response_class=PlainTextResponse)
    async def receipt(index: Annotated[int, Path(ge=0)], request: Request) -> PlainTextResponse:
        """The entry's C2SP tlog-proof under the latest checkpoint (see audit.checkpoint)."""
        if await journal.entry(index) is None:
            raise EntryNotFound(index, request)
        found = await checkpoints.receipt(index)
        if found is None:
            raise NotYetCheckpointed(index, request)
        return PlainTextResponse(found.to_text(), media_type=TEXT)

    @router.get("/verifier-keys", response_class=PlainTextResponse)
    async def verifier_keys() -> PlainTextResponse:
        """The C2SP verifier keys that sign checkpoints, one per line."""
        return PlainTextResponse("".join(f"{k}\n" for k in checkpoints.verifier_keys()))

    @router.get("/head")
    async def head() -> dict[str, Any]:
        current = await journal.head()
        return {"size": current.size, "root": current.root.hex()}

    @router.get("/stats")
    async def stats() -> dict[str, int]:
        return journal.stats.to_json()

    return router
