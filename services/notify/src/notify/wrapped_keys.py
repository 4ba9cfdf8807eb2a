"""Where notify keeps wrapped DEKs, for `rotate-kek` and `retire-kek`: the sealed signing
secrets of the offices' webhook endpoints (the current one, and the previous one during a
rotation's grace)."""

from __future__ import annotations

from typing import Final

from notify.webhooks.repository import ENDPOINTS
from notify.webhooks.service import endpoint_object_id
from shared.crypto.rewrap import WrappedKeyField, WrappedKeys
from shared.store.port import Document, from_iso


def _secret_of(name: str) -> WrappedKeyField:
    def object_id(document: Document) -> str:
        return endpoint_object_id(str(document["_id"]), from_iso(document[name]["created_at"]))

    return WrappedKeyField((name, "sealed", "dek"), object_id)


WRAPPED_KEYS: Final = (
    WrappedKeys(
        "webhook signing secrets",
        ENDPOINTS,
        (_secret_of("secret"), _secret_of("previous_secret")),
    ),
)
