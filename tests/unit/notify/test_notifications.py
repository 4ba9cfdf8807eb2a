"""The notification aggregate: rows already in the store read back as they were written, and
each state change says what it forgets and which event it causes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notify.domain import State
from notify.notifications import LinkReference, Notification, PendingLink
from notify.values import Activation, StoredValues
from shared.contracts.notify import NotificationKind

AT = datetime(2031, 3, 3, 10, tzinfo=UTC)

# An activation e-mail queued by the release before the aggregate, as the store holds it.
STORED_ACTIVATION = {
    "_id": "evt-1.email.0123456789abcdef",
    "_version": 1,
    "event_id": "evt-1",
    "source_type": "identity.activation-link-issued.v2",
    "correlation_id": "corr-1",
    "subject": "account:acc-1",
    "kind": "activation",
    "channel": "email",
    "lane": "urgent",
    "recipient": "account:acc-1",
    "recipient_masked": "j***@example.fr",
    "address": "jean.dupont@example.fr",
    "domain": "example.fr",
    "message_id": "evt-1.email.0123456789abcdef@notify.securact.test",
    "act_id": None,
    "office_id": None,
    "account_id": "acc-1",
    "content": None,
    "link": {
        "link_id": "link-1",
        "field": "activation_url",
        "context": {
            "values": {"identifier": "jdupont-42", "expires_at": "2031-03-06T10:00:00.000000Z"},
            "instants": ["expires_at"],
        },
    },
    "state": "queued",
    "attempts": 0,
    "created_at": "2031-03-03T10:00:00.000000Z",
    "next_attempt_at": "2031-03-03T10:00:00.000000Z",
    "claimed_at": None,
    "claim_owner": None,
    "data_sent_at": None,
    "accepted_at": None,
    "failed_at": None,
    "reason": None,
    "permanent": None,
    "deemed_received_on": None,
    "resent_after_crash": 0,
}


def test_a_row_written_before_the_aggregate_reads_back_and_is_written_the_same() -> None:
    notification = Notification.model_validate(STORED_ACTIVATION)
    assert notification.version == 1
    assert notification.kind is NotificationKind.ACTIVATION
    assert isinstance(notification.link, PendingLink)
    written = notification.document()
    unchanged = {k: v for k, v in STORED_ACTIVATION.items() if k != "_version"}
    assert {k: written[k] for k in unchanged} == unchanged
    assert set(written) - set(unchanged) == {"contact_purged_at", "updated_at"}


def test_stored_link_values_come_back_typed_and_take_the_link_in_their_field() -> None:
    notification = Notification.model_validate(STORED_ACTIVATION)
    assert isinstance(notification.link, PendingLink)
    values = notification.link.context.restored(NotificationKind.ACTIVATION)
    assert values == Activation(identifier="jdupont-42", expires_at=AT + timedelta(days=3))
    filled = values.with_link("https://portail.securact.test/activation?token=t")
    assert filled.template_values()["activation_url"] == (
        "https://portail.securact.test/activation?token=t"
    )
    assert values.stored() == StoredValues.model_validate(
        STORED_ACTIVATION["link"]["context"]  # type: ignore[index]
    )


def test_delivery_forgets_the_address_and_the_link_values_and_reports_the_facts() -> None:
    claimed = Notification.model_validate(STORED_ACTIVATION).claimed("notify-a", AT)
    assert claimed.state is State.SENDING
    assert claimed.attempts == 1
    done, sent = claimed.data_sent(AT).delivered(AT + timedelta(seconds=1), None)
    assert done.state is State.SENT
    assert (done.address, done.content) == (None, None)
    assert done.link == LinkReference(link_id="link-1")
    assert done.document()["link"] == {"link_id": "link-1"}
    assert sent.notification_id == done.id
    assert sent.recipient_masked == "j***@example.fr"
    assert sent.attempts == 1
    assert "jean.dupont" not in sent.model_dump_json()


def test_a_failure_keeps_its_reason_bounded_and_says_whether_it_is_final() -> None:
    claimed = Notification.model_validate(STORED_ACTIVATION).claimed("notify-a", AT)
    failed, event = claimed.failed("x" * 600, permanent=False, at=AT)
    assert failed.state is State.FAILED
    assert failed.reason == "x" * 500
    assert event.reason == "x" * 500
    assert event.permanent is False
    assert failed.address is None


def test_a_claim_written_before_the_data_mark_existed_is_recovered_as_ambiguous() -> None:
    legacy = {
        k: v
        for k, v in STORED_ACTIVATION.items()
        if k not in ("data_sent_at", "resent_after_crash")
    }
    legacy.update(state="sending", claimed_at="2031-03-03T10:00:00.000000Z", attempts=1)
    stale = Notification.model_validate(legacy)
    requeued, ambiguous = stale.requeued_after_stale_claim(AT)
    assert ambiguous
    assert requeued.state is State.QUEUED
    assert requeued.resent_after_crash == 1
    assert requeued.document()["data_sent_at"] is None


def test_a_claim_without_the_data_mark_is_requeued_as_a_first_send() -> None:
    stale = Notification.model_validate(STORED_ACTIVATION).claimed("notify-a", AT)
    requeued, ambiguous = stale.requeued_after_stale_claim(AT + timedelta(minutes=6))
    assert not ambiguous
    assert requeued.resent_after_crash == 0
    assert requeued.next_attempt_at == AT + timedelta(minutes=6)
