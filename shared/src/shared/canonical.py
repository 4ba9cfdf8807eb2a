"""RFC 8785 (JCS) canonical JSON: the bytes the platform hashes and signs.

`rfc8785.dumps` is pure Python and walks every character; on the audit journal's path it was
the largest single cost. Almost every document hashed here holds only strings, ASCII keys,
integers within ±(2^53 - 1), booleans and null, and for those the standard library's compact,
key-sorted, non-ASCII-preserving encoding is byte for byte the JCS form: the same escapes
(`\\"`, `\\\\`, `\\b \\f \\n \\r \\t`, `\\u00xx` in lower case for the other control characters,
everything else as is), integers printed the same way, and keys in the same order (code-point
order is UTF-16 order for ASCII). Any other value — a float, a non-ASCII key — goes to
`rfc8785`, which also refuses what JCS cannot represent (a larger integer, NaN). A property
test holds the two equal.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

# The integers an IEEE double holds exactly (and the reference accepts; it refuses the others).
_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 serialization of `value`, UTF-8."""
    if _plain(value):
        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
        ).encode()
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    """True when the standard library's encoding of `value` is its JCS form."""
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and key.isascii() and _plain(item) for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    return False
