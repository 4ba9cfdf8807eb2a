"""Private JSON key files: created 0600 (directory 0700), refused when group/others can read."""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path

from shared.crypto.errors import ConfigurationError
from shared.jsondoc import JsonObject


def read_private_json(path: Path) -> JsonObject:
    """The JSON object in `path`, after checking that only its owner can access it."""
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"{path} is accessible by group or others; chmod 600 it")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not valid JSON") from exc
    if not isinstance(document, dict):
        raise ConfigurationError(f"{path} does not hold a JSON object")
    return document


def create_private_json(path: Path, document: JsonObject) -> bool:
    """Create `path` (0600) holding `document`; False if it already existed (left untouched)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
    return True


def replace_private_json(path: Path, document: JsonObject) -> None:
    """Atomically replace `path` with `document` (0600 sibling, then rename)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
