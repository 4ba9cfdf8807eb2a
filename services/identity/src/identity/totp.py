"""TOTP second factor (RFC 6238, 30 s steps, 6 digits) and single-use recovery codes."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp

from identity.domain import hash_secret
from shared.store.port import Document

RECOVERY_CODES = 10
CODE_DIGITS = 6
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_ASCII_DIGITS = frozenset("0123456789")


def is_code(typed: str) -> bool:
    """Exactly six ASCII digits, what an authenticator app shows. `str.isdigit` is not enough:
    it accepts Arabic-Indic, fullwidth or superscript digits, which `hmac.compare_digest`
    refuses to compare (a str with non-ASCII characters raises)."""
    return len(typed) == CODE_DIGITS and all(ch in _ASCII_DIGITS for ch in typed)


def new_secret() -> str:
    return str(pyotp.random_base32())


def provisioning_uri(secret: str, name: str, issuer: str) -> str:
    return str(pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer))


def code_at(secret: str, at: datetime) -> str:
    return str(pyotp.TOTP(secret).at(at))


def matching_step(secret: str, code: str, now: datetime, window: int = 1) -> int | None:
    """The time step whose code is `code`, within ±`window` steps of `now` (clock drift); None
    for anything but six ASCII digits."""
    typed = code.strip()
    if not is_code(typed):
        return None
    generator = pyotp.TOTP(secret)
    current = int(generator.timecode(now))
    for step in range(current - window, current + window + 1):
        expected = str(generator.generate_otp(step))
        if hmac.compare_digest(expected, typed):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes of two groups of 5 characters (~49 bits each): shown once, stored hashed."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def _normal_recovery(code: str) -> str:
    return code.strip().lower().replace("-", "").replace(" ", "")


def recovery_hash(code: str) -> str:
    return hash_secret(_normal_recovery(code))


def consume(account: Document, secret: str, code: str, now: datetime) -> Document | None:
    """The account after spending `code` (a TOTP code of `secret`, the account's opened TOTP
    secret, newer than the last one used, or an unused recovery code); None if the code is not
    accepted."""
    if not secret:
        return None
    typed = code.strip()
    if is_code(typed):
        step = matching_step(secret, typed, now)
        last = account.get("totp_last_step")
        # A code seen once is spent: a shoulder-surfed or phished code cannot be replayed.
        if step is None or (last is not None and step <= int(last)):
            return None
        return {**account, "totp_last_step": step}
    hashed = recovery_hash(typed)
    remaining = list(account.get("recovery_codes", []))
    for stored in remaining:
        if hmac.compare_digest(stored, hashed):
            remaining.remove(stored)
            return {**account, "recovery_codes": remaining}
    return None
