"""Consumer retry delays and dead-letter reasons (no broker: pure functions)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError, create_model

from shared.contracts.envelope import Envelope
from shared.contracts.registry import UnknownEventTypeError
from shared.messaging.consumer import PermanentFailure, RetryPolicy, safe_reason

PERSON = "Jean Dupont"
SAMPLES = 200


class Recipient(BaseModel):
    name: str = Field(max_length=5)
    age: int
    email: str


def validation_error(model: type[BaseModel], data: object) -> ValidationError:
    try:
        model.model_validate(data)
    except ValidationError as error:
        return error
    raise AssertionError("expected a validation error")


# --- RetryPolicy ------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(1, 12))
def test_delay_is_between_half_and_all_of_the_exponential_step(attempt: int) -> None:
    policy = RetryPolicy(first_delay=timedelta(seconds=1), max_delay=timedelta(minutes=5))
    step = min(timedelta(seconds=2 ** (attempt - 1)), timedelta(minutes=5))
    delays = [policy.delay(attempt) for _ in range(SAMPLES)]
    assert all(step / 2 <= delay <= step for delay in delays)
    assert len(set(delays)) > 1


def test_delays_grow_then_stay_at_the_cap() -> None:
    policy = RetryPolicy(first_delay=timedelta(milliseconds=100), max_delay=timedelta(seconds=1))
    lowest = [min(policy.delay(n) for _ in range(SAMPLES)) for n in range(1, 5)]
    highest = [max(policy.delay(n) for _ in range(SAMPLES)) for n in range(1, 5)]
    # The range of attempt n+1 starts where the one of attempt n ends.
    for n in range(3):
        assert highest[n] <= lowest[n + 1] * 2 + timedelta(microseconds=1)
        assert lowest[n] < lowest[n + 1]
    for attempt in (5, 10, 30):
        assert all(
            timedelta(milliseconds=500) <= policy.delay(attempt) <= timedelta(seconds=1)
            for _ in range(SAMPLES)
        )


def test_delay_of_a_late_attempt_is_the_cap_not_an_overflow() -> None:
    policy = RetryPolicy(max_attempts=100)
    assert policy.delay(64) <= policy.max_delay


# --- safe_reason -----------------------------------------------------------------------------


def test_validation_reason_names_fields_but_never_their_values() -> None:
    error = validation_error(Recipient, {"name": PERSON, "age": PERSON})
    assert PERSON in str(error)  # pydantic itself would leak it
    reason = safe_reason(error)
    assert PERSON not in reason
    assert "Jean" not in reason
    assert reason == "malformed: 3 invalid field(s): age, email, name"


def test_malformed_envelope_reason_keeps_no_message_content() -> None:
    body = (
        '{"event_id": "x", "type": "delivery.act-served.v1", "schema_version": 1,'
        ' "occurred_at": "2031-01-01T00:00:00", "producer": "delivery", "subject": "",'
        f' "actor": "{PERSON}", "correlation_id": "c", "payload": {{"name": "{PERSON}"}},'
        f' "recipient": "{PERSON}"}}'
    )
    with pytest.raises(ValidationError) as raised:
        Envelope.model_validate_json(body)
    reason = safe_reason(raised.value)
    assert PERSON not in reason
    assert "occurred_at" in reason
    assert "subject" in reason


def test_unparseable_body_reason_keeps_no_message_content() -> None:
    with pytest.raises(ValidationError) as raised:
        Envelope.model_validate_json(f'{{"actor": "{PERSON}", oops')
    reason = safe_reason(raised.value)
    assert PERSON not in reason
    assert reason.startswith("malformed: 1 invalid field(s): <root>")


def test_validation_reason_is_bounded() -> None:
    fields: dict[str, Any] = {f"field_{n:03d}": (int, ...) for n in range(200)}
    wide = create_model("Wide", **fields)
    reason = safe_reason(validation_error(wide, {}))
    assert reason.startswith("malformed: 200 invalid field(s): field_000, ")
    assert len(reason) <= 350


def test_validation_reason_does_not_repeat_dict_keys() -> None:
    class Notices(BaseModel):
        sent_to: dict[str, int]

    error = validation_error(Notices, {"sent_to": {"jean.dupont@example.fr": "twice"}})
    assert "jean.dupont" not in safe_reason(error)


def test_unexpected_exception_reason_is_only_its_type() -> None:
    reason = safe_reason(KeyError(f"no consent for {PERSON}"))
    assert reason == "handler failed: KeyError"


def test_unknown_type_and_permanent_failure_reasons_keep_their_message() -> None:
    assert safe_reason(UnknownEventTypeError("delivery.nope.v1")) == (
        "unknown event type: delivery.nope.v1"
    )
    assert safe_reason(PermanentFailure("act already withdrawn")) == (
        "rejected: act already withdrawn"
    )
    assert len(safe_reason(PermanentFailure("x" * 1000))) == len("rejected: ") + 300
