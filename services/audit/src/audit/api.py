"""Audit's read API (v1: entries by index and by subject). Proofs come with the Merkle log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from audit.service import MAX_PAGE, Journal
from shared.problems import Problem, problem_type


def journal_router(journal: Journal) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["journal"])

    @router.get("/entries")
    async def list_entries(
        subject: Annotated[str | None, Query(max_length=200)] = None,
        type: Annotated[str | None, Query(max_length=200)] = None,
        after: Annotated[int, Query(ge=-1, description="return entries after this index")] = -1,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        entries = await journal.entries(subject=subject, event_type=type, after=after, limit=limit)
        next_after = entries[-1]["index"] if len(entries) == limit else None
        return {"entries": entries, "next_after": next_after}

    @router.get("/entries/{index}")
    async def get_entry(index: Annotated[int, Path(ge=0)], request: Request) -> dict[str, Any]:
        entry = await journal.entry(index)
        if entry is None:
            raise Problem(
                404,
                "No such entry",
                f"the journal has no entry {index}",
                type=problem_type("entry-not-found"),
                instance=str(request.url.path),
            )
        return entry

    @router.get("/head")
    async def head() -> dict[str, Any]:
        current = await journal.head()
        return {"size": current.size, "last_hash": current.last_hash}

    return router
