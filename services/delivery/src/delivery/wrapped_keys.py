"""Where delivery keeps wrapped DEKs, for `rotate-kek` and `retire-kek`: one per act (and
judge's leave) and one per reply, each bound to its object's id."""

from __future__ import annotations

from typing import Final

from delivery.vault import ACT_KEYS, REPLY_KEYS
from shared.crypto.rewrap import WrappedKeys

WRAPPED_KEYS: Final = (
    WrappedKeys.per_document("act keys", ACT_KEYS),
    WrappedKeys.per_document("reply keys", REPLY_KEYS),
)
