"""The envelope every message carries (DESIGN §4) and the base class of event contracts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.clock import Clock
from shared.ids import new_id
from shared.jsondoc import JsonObject

ROUTING_KEY = re.compile(r"^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.v[1-9][0-9]*$")


class EventPayload(BaseModel):
    """Base of every event contract: frozen, past-tense name, `V<N>` suffix.

    Unknown fields are ignored so that adding an optional field stays compatible for consumers
    that still run the previous code.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    producer: ClassVar[str]
    fact: ClassVar[str]
    version: ClassVar[int]

    @classmethod
    def routing_key(cls) -> str:
        return f"{cls.producer}.{cls.fact}.v{cls.version}"


class Envelope(BaseModel):
    """What travels on the bus. Personal data, if any, is only ever in `payload`.

    Unknown fields are ignored, as in payloads: the compatibility rule lets the envelope gain
    optional fields, and consumers still on the previous release must keep accepting it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(description="UUIDv7, unique across the platform")
    type: str = Field(description="routing key <producer>.<fact>.v<N>")
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str
    producer_seq: int | None = Field(
        default=None, ge=1, description="assigned by the outbox relay; contiguous per producer"
    )
    subject: str = Field(min_length=1, description="what the event is about, e.g. act:<id>")
    actor: str = Field(min_length=1, description="who caused it, e.g. office:<id>, service:<name>")
    correlation_id: str
    causation_id: str | None = None
    payload: JsonObject

    @field_validator("type")
    @classmethod
    def _routing_key_shape(cls, value: str) -> str:
        if not ROUTING_KEY.match(value):
            raise ValueError("type must look like <producer>.<fact>.v<N>")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def with_seq(self, producer_seq: int) -> Envelope:
        return self.model_copy(update={"producer_seq": producer_seq})


def new_envelope(
    payload: EventPayload,
    *,
    subject: str,
    actor: str,
    clock: Clock,
    causation: Envelope | None = None,
    correlation_id: str | None = None,
) -> Envelope:
    """Wrap a contract instance for publication. A consequence of another event inherits its
    correlation id and names it as its cause."""
    now = clock.now()
    event_id = new_id(now)
    if causation is not None:
        correlation_id = correlation_id or causation.correlation_id
    return Envelope(
        event_id=event_id,
        type=payload.routing_key(),
        schema_version=payload.version,
        occurred_at=now,
        producer=payload.producer,
        subject=subject,
        actor=actor,
        correlation_id=correlation_id or event_id,
        causation_id=causation.event_id if causation else None,
        payload=payload.model_dump(mode="json"),
    )
