"""Audit's read API: checkpoints, entries, proofs and receipts (who sees which payload:
`audit.reads`). What the use cases refuse is a `shared.refusals.Refusal` (`audit.errors`),
mapped to problem+json once for the whole app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse

from audit.checkpoints import Checkpoints, StoredCheckpoint
from audit.errors import NoCheckpoint
from audit.journal import Journal
from audit.receipts import Receipts
from audit.records import MAX_PAGE
from audit.views import (
    CheckpointList,
    CheckpointView,
    ConsistencyView,
    EntryDetail,
    EntryPage,
    HeadView,
    InclusionView,
    StatsView,
)
from shared.auth import Principal, current_principal
from shared.openapi import problem_responses

TEXT: Final = "text/plain; charset=utf-8"


async def optional_principal(request: Request) -> Principal | None:
    """The verified caller, or None for an anonymous request (a bad token is still a 401)."""
    if request.headers.get("Authorization") is None:
        return None
    return await current_principal(request)


Caller = Annotated[Principal | None, Depends(optional_principal)]
EntryIndex = Annotated[int, Path(ge=0)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Filter = Annotated[str | None, Query(max_length=200)]


def journal_router(
    journal: Journal,
    checkpoints: Checkpoints,
    note: Callable[[StoredCheckpoint], Awaitable[str]] | None = None,
) -> APIRouter:
    """`note` gives the served text of a checkpoint (with its witnesses' cosignatures when
    witnesses are configured); by default the log-signed note alone."""
    router = APIRouter(prefix="/v1", tags=["journal"])
    receipts = Receipts(journal.reads, journal.proofs, checkpoints, note)

    @router.get("/checkpoint", response_class=PlainTextResponse, responses=problem_responses(404))
    async def checkpoint() -> PlainTextResponse:
        """The latest signed checkpoint (C2SP signed note, with any cosignatures)."""
        latest = await checkpoints.latest()
        if latest is None:
            raise NoCheckpoint()
        text = await note(latest) if note is not None else latest.note
        return PlainTextResponse(text, media_type=TEXT)

    @router.get("/checkpoints")
    async def list_checkpoints(
        from_size: Annotated[int, Query(ge=0)] = 0, limit: PageSize = 100
    ) -> CheckpointList:
        found = await checkpoints.since(from_size, limit)
        return CheckpointList(
            checkpoints=[
                CheckpointView(
                    size=c.checkpoint.size,
                    root=c.checkpoint.root.hex(),
                    note=c.note,
                    signed_at=c.signed_at,
                )
                for c in found
            ]
        )

    @router.get("/entries")
    async def list_entries(
        subject: Filter = None,
        type: Filter = None,
        event_id: Annotated[
            str | None, Query(max_length=200, description="exact event id (for receipts)")
        ] = None,
        after: Annotated[int, Query(ge=-1, description="return entries after this index")] = -1,
        limit: PageSize = 100,
    ) -> EntryPage:
        return await journal.reads.page(
            subject=subject, event_type=type, event_id=event_id, after=after, limit=limit
        )

    @router.get("/entries/{index}", responses=problem_responses(404))
    async def get_entry(index: EntryIndex, principal: Caller) -> EntryDetail:
        return await journal.reads.detail(index, principal)

    @router.get("/proofs/inclusion", responses=problem_responses(400, 404))
    async def inclusion(
        index: Annotated[int, Query(ge=0)],
        size: Annotated[int | None, Query(ge=1)] = None,
    ) -> InclusionView:
        return await receipts.inclusion(index, size)

    @router.get("/proofs/consistency", responses=problem_responses(400))
    async def consistency(
        first: Annotated[int, Query(ge=1)],
        second: Annotated[int | None, Query(ge=1)] = None,
    ) -> ConsistencyView:
        return await receipts.consistency(first, second)

    @router.get(
        "/receipts/{index}",
        response_class=PlainTextResponse,
        responses=problem_responses(404, 409),
    )
    async def receipt(index: EntryIndex) -> PlainTextResponse:
        """The entry's C2SP tlog-proof under the latest checkpoint (see audit.checkpoint)."""
        return PlainTextResponse(await receipts.receipt(index), media_type=TEXT)

    @router.get("/verifier-keys", response_class=PlainTextResponse)
    async def verifier_keys() -> PlainTextResponse:
        """The C2SP verifier keys that sign checkpoints, one per line."""
        return PlainTextResponse("".join(f"{k}\n" for k in checkpoints.verifier_keys()))

    @router.get("/head")
    async def head() -> HeadView:
        current = await journal.head()
        return HeadView(size=current.size, root=current.root.hex())

    @router.get("/stats")
    async def stats() -> StatsView:
        return StatsView.model_validate(journal.stats.to_json())

    return router
