"""The witness's HTTP interface: `POST /add-checkpoint` (https://c2sp.org/tlog-witness).

Answers, as the spec says: 404 unknown origin, 403 no trusted log signature, 400 malformed (or an
old size beyond the checkpoint's), 409 `text/x.tlog.size` with the size it last cosigned when
the old size is not that size or when a checkpoint of that very size has another root (a fork),
422 when the consistency proof does not verify; else 200 with its cosignature line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from shared.clock import Clock, SystemClock
from shared.cosignature import CosignerKey, split_note
from shared.crypto import IntegrityError, VerifierKey, open_note
from shared.problems import Problem, install_problem_handlers, problem_type
from witness.state import Recorded, WitnessState
from witness.tlog import (
    MalformedError,
    TreeHead,
    consistent,
    parse_add_checkpoint,
    parse_checkpoint_body,
)

log = logging.getLogger(__name__)

SIZE_TYPE: Final = "text/x.tlog.size"
# 63 proof lines and a checkpoint with a few signatures fit in a few KiB.
MAX_BODY: Final = 64 * 1024


class ConflictError(Exception):
    """The checkpoint does not follow what this witness last cosigned (409)."""

    def __init__(self, latest: int) -> None:
        super().__init__(f"last cosigned size {latest}")
        self.latest = latest


@dataclass(frozen=True)
class WitnessConfig:
    key: CosignerKey
    logs: Mapping[str, Sequence[VerifierKey]]
    """Per origin, the log keys whose signature is required on its checkpoints."""


def _malformed(detail: str) -> Problem:
    return Problem(400, "Malformed request", detail, type=problem_type("witness-malformed"))


class Witness:
    def __init__(self, config: WitnessConfig, state: WitnessState, clock: Clock) -> None:
        self._config = config
        self._state = state
        self._clock = clock
        # One writer at a time in this process; the SQLite transaction covers other processes.
        self._lock = asyncio.Lock()

    async def add_checkpoint(self, text: str) -> str:
        """The cosignature line of a checkpoint, once every check passed (Problem/ConflictError
        otherwise)."""
        try:
            request = parse_add_checkpoint(text)
            body, _ = split_note(request.note)
            head = parse_checkpoint_body(body)
        except (MalformedError, IntegrityError) as error:
            raise _malformed(str(error)) from None
        keys = self._config.logs.get(head.origin)
        if keys is None:
            raise Problem(
                404,
                "Unknown log",
                "this witness does not follow that origin",
                type=problem_type("witness-unknown-log"),
            )
        try:
            open_note(request.note, keys)
        except IntegrityError:
            raise Problem(
                403,
                "Not signed by the log",
                "no valid signature by a key of the log",
                type=problem_type("witness-bad-signature"),
            ) from None
        if request.old_size > head.size:
            raise _malformed("the old size is beyond the checkpoint's size")
        if request.old_size == 0 and request.proof:
            raise _malformed("no proof goes with an old size of zero")

        def decide(recorded: Recorded | None) -> str:
            latest = recorded.size if recorded else 0
            if request.old_size != latest:
                raise ConflictError(latest)
            if recorded is not None and recorded.size == head.size:
                if recorded.root != head.root:
                    log.warning("fork of %s at size %d refused", head.origin, head.size)
                    raise ConflictError(latest)
            # An empty tree is a prefix of every tree: from size 0 there is nothing to prove.
            elif (
                recorded is not None
                and recorded.size > 0
                and not consistent(
                    recorded.size, recorded.root, head.size, head.root, request.proof
                )
            ):
                log.warning("inconsistent checkpoint of %s refused", head.origin)
                raise Problem(
                    422,
                    "Inconsistent checkpoint",
                    f"the proof does not show {head.size} extends {recorded.size}",
                    type=problem_type("witness-inconsistent"),
                )
            self._state.record(head, request.note)
            return self._cosign(body, head)

        async with self._lock:
            return await asyncio.to_thread(self._state.advance, head.origin, decide)

    def _cosign(self, body: str, head: TreeHead) -> str:
        timestamp = int(self._clock.now().timestamp())
        log.info("cosigned %s at size %d", head.origin, head.size)
        return self._config.key.cosign(body, timestamp)


def create_app(config: WitnessConfig, state: WitnessState, clock: Clock | None = None) -> FastAPI:
    witness = Witness(config, state, clock or SystemClock())
    app = FastAPI(title="SECURACT-NG witness (C2SP tlog-witness)")
    install_problem_handlers(app)
    router = APIRouter()

    @router.post("/add-checkpoint", response_class=PlainTextResponse)
    async def add_checkpoint(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise Problem(413, "Request too large", f"at most {MAX_BODY} bytes",
                          type=problem_type("witness-too-large"))  # fmt: skip
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("the request is not UTF-8") from None
        try:
            line = await witness.add_checkpoint(text)
        except ConflictError as conflict:
            # Set as a header: a media_type would get a charset the spec does not name.
            return Response(
                f"{conflict.latest}\n", status_code=409, headers={"Content-Type": SIZE_TYPE}
            )
        return PlainTextResponse(line)

    @router.get("/verifier-key", response_class=PlainTextResponse)
    async def verifier_key() -> PlainTextResponse:
        """This witness's cosignature/v1 verifier key."""
        return PlainTextResponse(config.key.verifier.to_string() + "\n")

    app.include_router(router)
    app.state.witness = witness
    return app
