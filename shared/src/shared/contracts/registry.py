"""Which contract class each routing key names, and back."""

from __future__ import annotations

from typing import TypeVar

from shared.contracts.envelope import ROUTING_KEY, Envelope, EventPayload

P = TypeVar("P", bound=EventPayload)

_BY_KEY: dict[str, type[EventPayload]] = {}


class UnknownEventTypeError(LookupError):
    """No contract is registered under that routing key."""


def register(cls: type[P]) -> type[P]:
    """Class decorator: put a contract in the registry under its routing key."""
    key = cls.routing_key()
    if not ROUTING_KEY.match(key):
        raise ValueError(f"{cls.__name__}: bad routing key {key!r}")
    if not cls.__name__.endswith(f"V{cls.version}"):
        raise ValueError(f"{cls.__name__}: contract names end with V{cls.version}")
    existing = _BY_KEY.get(key)
    if existing is not None and existing is not cls:
        raise ValueError(f"{key} is already registered by {existing.__name__}")
    _BY_KEY[key] = cls
    return cls


def contract_for(routing_key: str) -> type[EventPayload]:
    try:
        return _BY_KEY[routing_key]
    except KeyError:
        raise UnknownEventTypeError(routing_key) from None


def registered() -> dict[str, type[EventPayload]]:
    """Every registered contract by routing key (a copy)."""
    return dict(sorted(_BY_KEY.items()))


def decode_payload(envelope: Envelope, expected: type[P]) -> P:
    """The envelope's payload as the expected contract; refuses a mismatched type."""
    if envelope.type != expected.routing_key():
        raise UnknownEventTypeError(f"{envelope.type} is not {expected.routing_key()}")
    return expected.model_validate(envelope.payload)
