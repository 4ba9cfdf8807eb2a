"""What audit's use cases refuse. Each refusal carries its HTTP status, problem code and title;
`shared.refusals.install_refusal_handlers` maps them once to RFC 9457 problems."""

from __future__ import annotations

from shared.refusals import Refusal


class EntryNotFound(Refusal):
    status = 404
    code = "entry-not-found"
    title = "No such entry"

    def __init__(self, index: int) -> None:
        super().__init__(f"the journal has no entry {index}")


class SizeNotProvable(Refusal):
    status = 400
    code = "size-not-checkpointed"
    title = "Size not provable"

    @classmethod
    def beyond_signed(cls, limit: int) -> SizeNotProvable:
        return cls(f"proofs go up to the latest checkpoint's size ({limit})")


class NoCheckpoint(Refusal):
    status = 404
    code = "no-checkpoint"
    title = "No checkpoint yet"

    def __init__(self) -> None:
        super().__init__("the journal has not signed a checkpoint yet")


class NotYetCheckpointed(Refusal):
    status = 409
    code = "entry-not-checkpointed"
    title = "Not yet checkpointed"

    def __init__(self, index: int) -> None:
        super().__init__(
            f"entry {index} is not covered by a signed checkpoint yet; retry shortly",
            headers={"Retry-After": "5"},
        )


class NoTimestamp(Refusal):
    status = 404
    code = "no-timestamp"
    title = "No timestamp"

    def __init__(self, size: int) -> None:
        super().__init__(f"checkpoint {size} has no timestamp (yet, or no such checkpoint)")
