"""Receiving `POST /v1/declarations`: a streamed multipart body whose JSON part `declaration`
describes the person and the proofs, and whose file parts carry the proofs.

Nothing is held whole in memory and nothing over a limit is read: the declared Content-Length
is checked first, then every byte is counted as it arrives (chunked uploads have no length),
and each file streams through content sniffing and encryption into S3. The first byte over a
file's limit stops the upload (413). Parts may come in any order; the file parts are matched
to the JSON's `proofs[].part` names afterwards. On any refusal the stored objects are deleted
(their DEKs were never kept, so they were unreadable anyway).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from pydantic import ValidationError

from consent.domain import DeclarationInput
from consent.proofs import ProofVault, UploadedProof
from shared.clock import Clock
from shared.documents import ContentError
from shared.ids import new_id
from shared.multipart import MultipartError, MultipartReader, boundary_of
from shared.refusals import FieldError

DECLARATION_PART = "declaration"


class BodyTooLargeError(Exception):
    """The request body exceeds what a declaration may weigh (413)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the request may not exceed {limit} bytes")


class SubmissionError(ValueError):
    """The upload is malformed or incomplete (422); `errors` are safe to return."""

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        self.message = message
        self.errors = errors or []
        super().__init__(message)


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int
    max_proof_bytes: int
    max_proofs: int
    max_json_bytes: int


@dataclass
class Submission:
    declaration: DeclarationInput
    uploads: dict[str, UploadedProof] = field(default_factory=dict)


async def _counted(body: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in body:
        total += len(chunk)
        if total > limit:
            raise BodyTooLargeError(limit)
        yield chunk


def check_length(content_length: str | None, limits: Limits) -> None:
    """Refuse a declared body over the limit before reading any of it."""
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError:
        raise SubmissionError("Content-Length is not a number") from None
    if declared > limits.max_request_bytes:
        raise BodyTooLargeError(limits.max_request_bytes)


def parse_declaration(raw: bytes) -> DeclarationInput:
    try:
        return DeclarationInput.model_validate_json(raw)
    except ValidationError as error:
        # Where and why only: the input is personal data and is not echoed back.
        errors: list[FieldError] = [
            {"loc": ["declaration", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in error.errors(include_input=False, include_url=False)
        ]
        raise SubmissionError("the declaration part is invalid", errors) from None


async def receive(
    body: AsyncIterator[bytes],
    content_type: str | None,
    content_length: str | None,
    *,
    vault: ProofVault,
    clock: Clock,
    limits: Limits,
) -> Submission:
    """Read the whole upload, storing the files encrypted as they stream by."""
    check_length(content_length, limits)
    try:
        boundary = boundary_of(content_type)
    except MultipartError as error:
        raise SubmissionError(str(error)) from None
    reader = MultipartReader(_counted(body, limits.max_request_bytes), boundary)
    declaration: DeclarationInput | None = None
    uploads: dict[str, UploadedProof] = {}
    try:
        while (part := await reader.next_part()) is not None:
            if part.filename is None:
                if part.name != DECLARATION_PART or declaration is not None:
                    raise SubmissionError(f"unexpected form field {part.name!r}")
                raw = bytearray()
                async for chunk in reader.chunks():
                    raw += chunk
                    if len(raw) > limits.max_json_bytes:
                        raise SubmissionError("the declaration part is too large")
                # Parsed at once: a malformed declaration fails before any file is stored.
                declaration = parse_declaration(bytes(raw))
                continue
            if part.name in uploads or part.name == DECLARATION_PART:
                raise SubmissionError(f"two parts are named {part.name!r}")
            if len(uploads) >= limits.max_proofs:
                raise SubmissionError(f"at most {limits.max_proofs} proof files")
            proof_id = new_id(clock.now())
            try:
                uploads[part.name] = await vault.upload(
                    proof_id, part.name, reader.chunks(), limit=limits.max_proof_bytes
                )
            except ContentError as error:
                raise SubmissionError(
                    "a proof file is refused",
                    [{"loc": ["proofs", part.name], "msg": str(error), "type": "file_content"}],
                ) from None
    except MultipartError as error:
        await vault.discard([u.proof_id for u in uploads.values()])
        raise SubmissionError(str(error)) from None
    except BaseException:
        await vault.discard([u.proof_id for u in uploads.values()])
        raise
    if declaration is None:
        await vault.discard([u.proof_id for u in uploads.values()])
        raise SubmissionError("the `declaration` JSON part is missing")
    return Submission(declaration, uploads)
