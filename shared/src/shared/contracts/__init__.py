"""Event contracts: the envelope, the registry, and every published event (DESIGN §4).

Importing this package registers every contract.
"""

from shared.contracts import (
    audit,
    consent,
    delivery,
    identity,
    notify,
    platform,
    retention,
    status,
)
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.contracts.registry import (
    UnknownEventTypeError,
    contract_for,
    decode_payload,
    register,
    registered,
)

__all__ = [
    "Envelope",
    "EventPayload",
    "UnknownEventTypeError",
    "audit",
    "consent",
    "contract_for",
    "decode_payload",
    "delivery",
    "identity",
    "new_envelope",
    "notify",
    "platform",
    "register",
    "registered",
    "retention",
    "status",
]
