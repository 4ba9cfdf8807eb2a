"""Where consent keeps wrapped DEKs, for `rotate-kek` and `retire-kek`: one per proof
document, bound to its id."""

from __future__ import annotations

from typing import Final

from consent.proofs import PROOF_KEYS
from shared.crypto.rewrap import WrappedKeys

WRAPPED_KEYS: Final = (WrappedKeys.per_document("proof keys", PROOF_KEYS),)
