"""Events about the platform itself (process lifecycle)."""

from __future__ import annotations

from typing import ClassVar

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register


class ServiceStarted(EventPayload):
    """A service process started and is about to serve: journaled so that every start (and so
    every deployment or restart) leaves a trace."""

    fact: ClassVar[str] = "started"
    version: ClassVar[int] = 1

    service: str
    instance_id: str
    release: str


@register
class IdentityStartedV1(ServiceStarted):
    producer: ClassVar[str] = "identity"


@register
class ConsentStartedV1(ServiceStarted):
    producer: ClassVar[str] = "consent"


@register
class DeliveryStartedV1(ServiceStarted):
    producer: ClassVar[str] = "delivery"


@register
class NotifyStartedV1(ServiceStarted):
    producer: ClassVar[str] = "notify"


@register
class AuditStartedV1(ServiceStarted):
    producer: ClassVar[str] = "audit"


@register
class RetentionStartedV1(ServiceStarted):
    producer: ClassVar[str] = "retention"


STARTED_BY_SERVICE: dict[str, type[ServiceStarted]] = {
    cls.producer: cls
    for cls in (
        IdentityStartedV1,
        ConsentStartedV1,
        DeliveryStartedV1,
        NotifyStartedV1,
        AuditStartedV1,
        RetentionStartedV1,
    )
}
