"""Events of the audit service."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register


@register
class GapDetectedV1(EventPayload):
    """Audit has waited longer than its configured delay for an event a producer numbered but
    that never arrived: the journal may be missing events of that producer. Raised once per gap.

    `producer` is a class attribute of every contract (who emits it: audit), so the producer
    whose sequence has the gap is `source_producer`.
    """

    producer: ClassVar[str] = "audit"
    fact: ClassVar[str] = "gap-detected"
    version: ClassVar[int] = 1

    source_producer: str = Field(description="the producer whose producer_seq has a gap")
    expected_seq: int = Field(ge=1, description="the first producer_seq that never arrived")
    first_seen_seq: int = Field(ge=2, description="the lowest producer_seq seen beyond the gap")
    detected_at: AwareDatetime
