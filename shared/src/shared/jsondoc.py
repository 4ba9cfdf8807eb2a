"""The name for a JSON object whose members are not known in advance, at the platform's edges.

Most JSON is typed (contracts, views, store repositories). Some is free-form by design: a
signed evidence record's `details` (its members depend on its type and are signed as they are),
a document hashed in canonical form, another service's answer the portal passes through, an
OpenAPI fragment. Those are written `JsonObject`, so that each untyped mapping is a named,
deliberate choice rather than a stray untyped dict. What stays untyped elsewhere is a third party's
shape: AMQP header tables (FastStream), PyMongo queries and options, minio's signing override.
"""

from __future__ import annotations

from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
"""A decoded JSON object: `str` keys, values of any JSON type."""
