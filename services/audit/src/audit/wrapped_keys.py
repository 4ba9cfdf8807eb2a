"""Where audit keeps wrapped DEKs, for `rotate-kek` and `retire-kek`: one per journal subject,
bound to the subject (a shredded subject keeps none)."""

from __future__ import annotations

from typing import Final

from audit.vault import SUBJECT_KEYS, subject_object_id
from shared.crypto.rewrap import WrappedKeys

WRAPPED_KEYS: Final = (
    WrappedKeys.per_document(
        "subject keys", SUBJECT_KEYS, object_id=lambda d: subject_object_id(str(d["_id"]))
    ),
)
