"""Where retention keeps wrapped DEKs, for `rotate-kek` and `retire-kek`: per certificate, one
for each of its files (PDF and JSON) and one for its sealed download token."""

from __future__ import annotations

from typing import Final

from retention.certificates import file_object_id
from retention.download_links import token_object_id
from retention.repository import CERTIFICATES
from shared.crypto.rewrap import WrappedKeyField, WrappedKeys


def _file(kind: str) -> WrappedKeyField:
    return WrappedKeyField(
        ("files", kind, "wrapped"), lambda d: file_object_id(str(d["_id"]), kind)
    )


WRAPPED_KEYS: Final = (
    WrappedKeys(
        "certificate keys",
        CERTIFICATES,
        (
            _file("pdf"),
            _file("json"),
            WrappedKeyField(("sealed_token", "wrapped"), lambda d: token_object_id(str(d["_id"]))),
        ),
    ),
)
