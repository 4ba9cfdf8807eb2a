"""Event contracts: envelope, registry, and the JSON-Schema compatibility rule (DESIGN §4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, Field, ValidationError, create_model

from shared.clock import ManualClock
from shared.contracts import (
    Envelope,
    EventPayload,
    UnknownEventTypeError,
    contract_for,
    decode_payload,
    new_envelope,
    register,
    registered,
    snapshots,
)
from shared.contracts.platform import (
    STARTED_BY_SERVICE,
    AuditStartedV1,
    DeliveryStartedV1,
)

NOW = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)
SERVICES = {"identity", "consent", "delivery", "notify", "audit", "retention"}


def started(service: str = "delivery") -> DeliveryStartedV1:
    return DeliveryStartedV1(service=service, instance_id="instance-1", release="1.2.3")


def envelope_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_id": "0190a6d2-0000-7000-8000-000000000001",
        "type": "delivery.act-served.v1",
        "schema_version": 1,
        "occurred_at": NOW,
        "producer": "delivery",
        "subject": "act:1",
        "actor": "office:1",
        "correlation_id": "c-1",
        "payload": {},
    }
    fields.update(overrides)
    return fields


# --- the committed snapshots -------------------------------------------------------------------


def test_every_contract_has_a_compatible_committed_snapshot() -> None:
    breaking, missing = snapshots.check()
    assert missing == [], f"run `python -m shared.contracts.snapshots --write` for {missing}"
    assert breaking == []


def test_the_envelope_and_every_started_event_are_snapshotted() -> None:
    names = set(snapshots.current_schemas())
    assert snapshots.ENVELOPE_SNAPSHOT in names
    assert {f"{service}.started.v1" for service in SERVICES} <= names
    for name in names:
        assert snapshots.snapshot_path(name).is_file(), name


def test_no_committed_snapshot_is_orphaned() -> None:
    # Deleting a published contract is a breaking change the checker would not otherwise see.
    committed = {path.stem for path in snapshots.SNAPSHOT_DIR.glob("*.json")}
    assert committed == set(snapshots.current_schemas())


def test_committed_snapshots_are_written_canonically() -> None:
    for name, schema in snapshots.current_schemas().items():
        text = snapshots.snapshot_path(name).read_text()
        assert json.loads(text) == schema, f"{name} is compatible but stale: rerun --write"


def test_check_reports_contracts_without_snapshot(tmp_path: Path) -> None:
    breaking, missing = snapshots.check(tmp_path)
    assert breaking == []
    assert set(missing) == set(snapshots.current_schemas())


def test_write_creates_snapshots_that_then_check_clean(tmp_path: Path) -> None:
    written = snapshots.write(tmp_path)
    assert set(written) == set(snapshots.current_schemas())
    assert snapshots.check(tmp_path) == ([], [])
    assert snapshots.write(tmp_path) == []


def test_write_refuses_to_overwrite_a_snapshot_with_a_breaking_change(tmp_path: Path) -> None:
    snapshots.write(tmp_path)
    path = snapshots.snapshot_path("delivery.started.v1", tmp_path)
    published = json.loads(path.read_text())
    published["properties"]["site"] = {"type": "string"}
    path.write_text(json.dumps(published))
    with pytest.raises(ValueError, match=r"delivery\.started\.v1: site: removed"):
        snapshots.write(tmp_path)
    assert "site" in json.loads(path.read_text())["properties"]


# --- the compatibility rule --------------------------------------------------------------------


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class FewerColours(StrEnum):
    RED = "red"


class MoreColours(StrEnum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


def schema_of(**fields: Any) -> dict[str, Any]:
    """JSON Schema of a model named `Thing` with `fields` as {name: (type, default or ...)}."""
    thing = create_model("Thing", **fields)
    return thing.model_json_schema()


BASE = {"act_id": (str, ...), "pages": (int, ...)}


def test_identical_schemas_are_compatible() -> None:
    assert snapshots.breaking_changes(schema_of(**BASE), schema_of(**BASE)) == []


def test_removed_field_is_breaking() -> None:
    problems = snapshots.breaking_changes(schema_of(**BASE), schema_of(act_id=(str, ...)))
    assert problems == ["pages: removed"]


def test_changed_type_is_breaking() -> None:
    problems = snapshots.breaking_changes(
        schema_of(**BASE), schema_of(act_id=(str, ...), pages=(str, ...))
    )
    assert problems == ["pages: changed"]


def test_new_required_field_is_breaking() -> None:
    problems = snapshots.breaking_changes(schema_of(**BASE), schema_of(**BASE, court=(str, ...)))
    assert problems == ["court: now required"]


def test_existing_optional_field_made_required_is_breaking() -> None:
    old = schema_of(**BASE, court=(str | None, None))
    new = schema_of(**BASE, court=(str, ...))
    assert "court: now required" in snapshots.breaking_changes(old, new)


def test_added_optional_field_is_compatible() -> None:
    new = schema_of(**BASE, court=(str | None, None))
    assert snapshots.breaking_changes(schema_of(**BASE), new) == []


def test_description_and_title_changes_are_compatible() -> None:
    old = schema_of(act_id=(str, Field(description="The act.")), pages=(int, ...))
    new = schema_of(
        act_id=(str, Field(description="The act being served.", title="Act")), pages=(int, ...)
    )
    assert snapshots.breaking_changes(old, new) == []


def test_enum_value_removed_is_breaking() -> None:
    old = schema_of(colour=(Colour, ...))
    new = schema_of(colour=(FewerColours, ...))
    # The renamed $def is itself reported; rename the new one to isolate the enum rule.
    new["$defs"] = {"Colour": new["$defs"].pop("FewerColours")}
    new["properties"]["colour"] = old["properties"]["colour"]
    assert snapshots.breaking_changes(old, new) == ["$defs.Colour: enum values removed"]


def test_enum_value_added_is_compatible() -> None:
    old = schema_of(colour=(Colour, ...))
    new = schema_of(colour=(MoreColours, ...))
    new["$defs"] = {"Colour": new["$defs"].pop("MoreColours")}
    new["properties"]["colour"] = old["properties"]["colour"]
    assert snapshots.breaking_changes(old, new) == []


def test_changes_inside_a_nested_model_are_found() -> None:
    class Address(BaseModel):
        street: str
        city: str

    class Recipient(BaseModel):
        address: Address

    old = Recipient.model_json_schema()
    new = json.loads(json.dumps(old))
    del new["$defs"]["Address"]["properties"]["city"]
    assert snapshots.breaking_changes(old, new) == ["$defs.Address.city: removed"]
    del new["$defs"]["Address"]
    assert "$defs.Address: removed" in snapshots.breaking_changes(old, new)


# --- the envelope ------------------------------------------------------------------------------


def test_new_envelope_fills_type_producer_version_and_starts_a_correlation() -> None:
    clock = ManualClock(NOW)
    envelope = new_envelope(
        started(), subject="service:delivery", actor="service:delivery", clock=clock
    )
    assert envelope.type == "delivery.started.v1"
    assert envelope.producer == "delivery"
    assert envelope.schema_version == 1
    assert envelope.occurred_at == NOW
    assert envelope.producer_seq is None
    assert envelope.causation_id is None
    assert envelope.correlation_id == envelope.event_id
    assert envelope.payload == {
        "service": "delivery",
        "instance_id": "instance-1",
        "release": "1.2.3",
    }


def test_a_consequence_inherits_the_correlation_and_names_its_cause() -> None:
    clock = ManualClock(NOW)
    cause = new_envelope(
        started(), subject="act:1", actor="office:1", clock=clock, correlation_id="request-42"
    )
    clock.advance(timedelta(seconds=1))
    effect = new_envelope(
        AuditStartedV1(service="audit", instance_id="i", release="r"),
        subject="act:1",
        actor="service:audit",
        clock=clock,
        causation=cause,
    )
    assert cause.correlation_id == "request-42"
    assert effect.correlation_id == "request-42"
    assert effect.causation_id == cause.event_id
    assert effect.event_id != cause.event_id
    assert effect.event_id > cause.event_id


def test_envelope_refuses_naive_datetimes() -> None:
    with pytest.raises(ValidationError, match="occurred_at"):
        Envelope(**envelope_fields(occurred_at=datetime(2031, 3, 4, 10, 0)))  # noqa: DTZ001


def test_envelope_stores_instants_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    envelope = Envelope(**envelope_fields(occurred_at=datetime(2031, 3, 4, 11, 0, tzinfo=paris)))
    assert envelope.occurred_at == NOW
    assert envelope.occurred_at.utcoffset() == timedelta(0)
    assert envelope.model_dump(mode="json")["occurred_at"].endswith("Z")


@pytest.mark.parametrize(
    "routing_key",
    [
        "delivery.act-served",
        "Delivery.act-served.v1",
        "delivery.act_served.v1",
        "delivery.act-served.v0",
        "delivery.act-served.1",
        "delivery..v1",
        "delivery.act-served.v1.extra",
        "",
    ],
)
def test_envelope_refuses_a_bad_routing_key(routing_key: str) -> None:
    with pytest.raises(ValidationError, match="type"):
        Envelope(**envelope_fields(type=routing_key))


@pytest.mark.parametrize(
    ("field", "value"),
    [("subject", ""), ("actor", ""), ("schema_version", 0), ("producer_seq", 0)],
)
def test_envelope_refuses_empty_or_out_of_range_fields(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=field):
        Envelope(**envelope_fields(**{field: value}))


def test_envelope_is_frozen_and_with_seq_returns_a_copy() -> None:
    envelope = Envelope(**envelope_fields())
    numbered = envelope.with_seq(7)
    assert numbered.producer_seq == 7
    assert envelope.producer_seq is None
    with pytest.raises(ValidationError):
        envelope.subject = "act:2"  # type: ignore[misc]


def test_envelope_round_trips_through_json() -> None:
    envelope = Envelope(**envelope_fields(producer_seq=3, payload={"n": 1}))
    assert Envelope.model_validate_json(envelope.model_dump_json()) == envelope


def test_an_envelope_from_a_newer_producer_with_an_extra_field_is_accepted() -> None:
    Envelope.model_validate(envelope_fields(tenant="office-7"))


# --- the registry ------------------------------------------------------------------------------


def test_every_service_has_a_registered_started_event() -> None:
    assert set(STARTED_BY_SERVICE) == SERVICES
    for service, contract in STARTED_BY_SERVICE.items():
        assert contract_for(f"{service}.started.v1") is contract


def test_registered_returns_a_copy() -> None:
    copy = registered()
    copy.clear()
    assert registered()["delivery.started.v1"] is DeliveryStartedV1


def test_registering_the_same_class_again_is_harmless() -> None:
    assert register(DeliveryStartedV1) is DeliveryStartedV1
    assert contract_for("delivery.started.v1") is DeliveryStartedV1


def test_register_refuses_a_second_class_for_a_routing_key() -> None:
    class ImpostorStartedV1(EventPayload):
        producer: ClassVar[str] = "delivery"
        fact: ClassVar[str] = "started"
        version: ClassVar[int] = 1

    with pytest.raises(ValueError, match="already registered by DeliveryStartedV1"):
        register(ImpostorStartedV1)
    assert contract_for("delivery.started.v1") is DeliveryStartedV1


def test_register_refuses_a_name_without_its_version_suffix() -> None:
    class ActServed(EventPayload):
        producer: ClassVar[str] = "delivery"
        fact: ClassVar[str] = "act-served"
        version: ClassVar[int] = 1

    class ActServedV2(EventPayload):
        producer: ClassVar[str] = "delivery"
        fact: ClassVar[str] = "act-served"
        version: ClassVar[int] = 1

    for contract in (ActServed, ActServedV2):
        with pytest.raises(ValueError, match="end with V1"):
            register(contract)
    assert registered().get("delivery.act-served.v1") not in (ActServed, ActServedV2)


def test_register_refuses_a_bad_routing_key() -> None:
    class ActServedV1(EventPayload):
        producer: ClassVar[str] = "Delivery"
        fact: ClassVar[str] = "act_served"
        version: ClassVar[int] = 1

    with pytest.raises(ValueError, match="bad routing key"):
        register(ActServedV1)


def test_contract_for_an_unknown_key_raises() -> None:
    with pytest.raises(UnknownEventTypeError):
        contract_for("delivery.no-such-fact.v1")


def test_decode_payload_gives_the_contract_instance() -> None:
    envelope = new_envelope(started(), subject="s:1", actor="a:1", clock=ManualClock(NOW))
    decoded = decode_payload(envelope, DeliveryStartedV1)
    assert decoded == started()


def test_decode_payload_refuses_a_mismatched_type() -> None:
    envelope = new_envelope(started(), subject="s:1", actor="a:1", clock=ManualClock(NOW))
    with pytest.raises(UnknownEventTypeError, match=r"delivery\.started\.v1"):
        decode_payload(envelope, AuditStartedV1)


def test_contracts_are_frozen_and_ignore_unknown_fields() -> None:
    decoded = DeliveryStartedV1.model_validate(
        {"service": "delivery", "instance_id": "i", "release": "r", "added_later": 1}
    )
    assert not hasattr(decoded, "added_later")
    with pytest.raises(ValidationError):
        decoded.release = "other"  # type: ignore[misc]
