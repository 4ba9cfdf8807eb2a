"""Event contracts: the envelope, the registry, and every published event (DESIGN §4).

Importing this package registers every contract.
"""

from shared.contracts import audit, consent, identity, platform
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
    "identity",
    "new_envelope",
    "platform",
    "register",
    "registered",
]
