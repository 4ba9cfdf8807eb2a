"""The platform topology every service declares matches what each consumer subscribes: a queue
declared with other bindings than its consumer expects would silently miss events."""

from __future__ import annotations

from audit.consumers import QUEUES as AUDIT_QUEUES
from consent.consumers import QUEUES as CONSENT_QUEUES
from delivery.consumers import QUEUES as DELIVERY_QUEUES
from identity.consumers import QUEUES as IDENTITY_QUEUES
from notify.consumers import QUEUES as NOTIFY_QUEUES
from retention.consumers import QUEUES as RETENTION_QUEUES
from shared.contracts import registered
from shared.messaging import platform_queues
from shared.messaging.topology import PLATFORM_QUEUES

SUBSCRIBED: dict[str, tuple[str, ...]] = {
    **AUDIT_QUEUES,
    **IDENTITY_QUEUES,
    **CONSENT_QUEUES,
    **NOTIFY_QUEUES,
    **DELIVERY_QUEUES,
    **RETENTION_QUEUES,
}


def test_every_consumer_queue_is_a_platform_queue_with_the_same_bindings() -> None:
    for queue, bindings in SUBSCRIBED.items():
        assert queue in PLATFORM_QUEUES, f"{queue} is not declared by the platform topology"
        assert set(PLATFORM_QUEUES[queue]) == set(bindings), queue


def test_every_binding_names_a_registered_contract_or_a_wildcard() -> None:
    known = set(registered())
    for queue, bindings in PLATFORM_QUEUES.items():
        for key in bindings:
            assert "#" in key or "*" in key or key in known, f"{queue}: {key} is no contract"


def test_queue_names_follow_service_dot_purpose() -> None:
    services = {"identity", "consent", "delivery", "notify", "audit", "retention"}
    for queue in PLATFORM_QUEUES:
        service, _, purpose = queue.partition(".")
        assert service in services
        assert purpose


def test_every_platform_queue_has_its_consumer() -> None:
    assert set(PLATFORM_QUEUES) == set(SUBSCRIBED)


def test_the_committed_platform_queues_are_the_services_tables() -> None:
    """`platform_queues.json` is derived from the consumers (`make schemas` rewrites it)."""
    assert platform_queues.main(["--check"]) == 0
    assert platform_queues.derive() == PLATFORM_QUEUES
