"""Typed failures of the crypto kernel."""

from __future__ import annotations


class CryptoError(Exception):
    """Base of every failure raised by `shared.crypto`."""


class IntegrityError(CryptoError):
    """A ciphertext, wrapped key or signature does not verify.

    Raised for every kind of tampering (flipped bytes, truncation, reordered, dropped, duplicated
    or appended segments, a changed header), for a wrong key and for a wrong object binding: the
    caller cannot and need not tell them apart, and nothing decrypted is valid after it.
    """


class StreamNotFinishedError(CryptoError):
    """A stream's digest or size was read before the stream was fully consumed."""


class KeyNotFoundError(CryptoError):
    """No key (or key version) with this id is available: unknown, retired or destroyed."""


class ConfigurationError(CryptoError):
    """A key file or key source is unusable (bad format, wrong permissions)."""
