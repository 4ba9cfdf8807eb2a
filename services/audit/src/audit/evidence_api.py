"""Routes of the checkpoints' outside evidence (see audit.evidence): public, like checkpoints.

- `GET /v1/checkpoint`: the latest checkpoint with the witnesses' cosignature lines appended
  (a C2SP signed note: the log's signature, then one `cosignature/v1` line per witness that
  cosigned it; until one has, the note as the log signed it). Mounted before the journal's
  router, so it answers that path in place of the log-signature-only note.
- `GET /v1/checkpoints/{size}/timestamp`: the TSA's RFC 3161 reply over that checkpoint's
  signed note (`application/timestamp-reply`), 404 until the job has obtained it.
- `GET /v1/witnesses`: the verifier keys of the witnesses whose cosignatures are published.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Path
from fastapi.responses import PlainTextResponse, Response

from audit.checkpoints import Checkpoints
from audit.errors import NoTimestamp
from audit.evidence import Evidence
from shared.openapi import problem_responses
from shared.timestamps import REPLY_TYPE

TEXT: Final = "text/plain; charset=utf-8"


def evidence_router(evidence: Evidence, checkpoints: Checkpoints) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["journal"])

    @router.get(
        "/checkpoints/{size}/timestamp",
        response_class=Response,
        responses={200: {"content": {REPLY_TYPE: {}}}, **problem_responses(404)},
    )
    async def checkpoint_timestamp(size: Annotated[int, Path(ge=0)]) -> Response:
        """The RFC 3161 timestamp reply over checkpoint `size`'s signed note."""
        token = await evidence.timestamp(size)
        if token is None:
            raise NoTimestamp(size)
        return Response(token, media_type=REPLY_TYPE)

    @router.get("/witnesses", response_class=PlainTextResponse)
    async def witnesses() -> PlainTextResponse:
        """The cosignature/v1 verifier keys of the witnesses, one per line."""
        keys = "".join(f"{w.key.to_string()}\n" for w in evidence.witnesses)
        return PlainTextResponse(keys, media_type=TEXT)

    return router
