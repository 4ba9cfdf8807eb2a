"""Where identity keeps wrapped DEKs, for `rotate-kek` and `retire-kek`: the sealed TOTP
secrets of accounts (confirmed and pending) and the sealed tokens of links not yet fetched.
Secrets stored before sealing (plain strings) hold no DEK."""

from __future__ import annotations

from typing import Final

from identity.records import ACCOUNTS, LINKS
from identity.sealed import link_object_id, totp_object_id
from shared.crypto.rewrap import WrappedKeyField, WrappedKeys


def _totp(document: dict[str, object]) -> str:
    return totp_object_id(str(document["_id"]))


WRAPPED_KEYS: Final = (
    WrappedKeys(
        "TOTP secrets",
        ACCOUNTS,
        (
            WrappedKeyField(("totp_secret", "dek"), _totp),
            WrappedKeyField(("totp_pending_secret", "dek"), _totp),
        ),
    ),
    WrappedKeys.per_document(
        "link tokens",
        LINKS,
        ("sealed_token", "dek"),
        object_id=lambda d: link_object_id(str(d["link_id"])),
    ),
)
