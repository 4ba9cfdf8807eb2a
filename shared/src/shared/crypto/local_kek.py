"""Local key file `KekSource` for dev and tests (DESIGN §6).

The file (default `var/keys/kek.json`, git-ignored with the rest of `var/`) is created with mode
0600 on first use and holds every KEK version as JSON::

    {"format": "securact-ng/kek-file/v1", "key_id": "local-dev", "current": 2,
     "versions": [{"version": 1, "key": "<base64>", "created_at": "...", "retired_at": null}, ...]}

A file readable by group or others is refused. Wraps are AES-256-GCM with a random 96-bit nonce
(stored in front of the ciphertext). Another process rotating or retiring (`rotate-kek`) is picked
up when an unwrap names a version this process has not loaded yet, and by new wraps at most
`refresh_seconds` after the change (the file is read again when its modification time changed).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.clock import Clock
from shared.crypto.errors import ConfigurationError, IntegrityError, KeyNotFoundError
from shared.crypto.keyfile import create_private_json, read_private_json, replace_private_json
from shared.jsondoc import JsonObject

logger = logging.getLogger(__name__)

FILE_FORMAT: Final = "securact-ng/kek-file/v1"
DEFAULT_KEK_FILE: Final = Path("var/keys/kek.json")
DEFAULT_KEY_ID: Final = "local-dev"
_NONCE_SIZE: Final = 12


@dataclass
class _Version:
    version: int
    key: bytes
    created_at: str
    retired_at: str | None


class LocalKeyFile:
    """A `KekSource` backed by a 0600 JSON file; creates it (version 1) on first use."""

    def __init__(
        self,
        path: Path,
        clock: Clock,
        key_id: str = DEFAULT_KEY_ID,
        refresh_seconds: float = 60.0,
    ) -> None:
        self._path = path
        self._clock = clock
        self._key_id = key_id
        self._refresh_seconds = refresh_seconds
        self._versions: dict[int, _Version] = {}
        self._current = 0
        self._loaded_mtime: int | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def path(self) -> Path:
        return self._path

    async def current_version(self) -> int:
        await self._ensure_loaded()
        return self._current

    async def wrap(self, plaintext: bytes, associated_data: bytes) -> tuple[int, bytes]:
        await self._ensure_loaded()
        entry = self._versions[self._current]
        nonce = secrets.token_bytes(_NONCE_SIZE)
        return entry.version, nonce + AESGCM(entry.key).encrypt(nonce, plaintext, associated_data)

    async def unwrap(self, version: int, ciphertext: bytes, associated_data: bytes) -> bytes:
        await self._ensure_loaded()
        if version not in self._versions:
            async with self._lock:
                await asyncio.to_thread(self._load)
        entry = self._versions.get(version)
        if entry is None or entry.retired_at is not None:
            raise KeyNotFoundError(f"KEK {self._key_id} version {version} is unknown or retired")
        if len(ciphertext) < _NONCE_SIZE + 16:  # nonce and GCM tag at least
            raise IntegrityError("wrapped key does not verify for this object")
        try:
            return AESGCM(entry.key).decrypt(
                ciphertext[:_NONCE_SIZE], ciphertext[_NONCE_SIZE:], associated_data
            )
        except InvalidTag:
            raise IntegrityError("wrapped key does not verify for this object") from None

    async def rotate(self) -> int:
        async with self._lock:
            await asyncio.to_thread(self._load_or_create)
            version = max(self._versions) + 1
            self._versions[version] = _Version(
                version, secrets.token_bytes(32), self._now_iso(), None
            )
            self._current = version
            await asyncio.to_thread(self._save)
        logger.info("KEK %s rotated to version %s", self._key_id, version)
        return version

    async def retire(self, version: int) -> None:
        async with self._lock:
            await asyncio.to_thread(self._load_or_create)
            if version == self._current:
                raise ValueError("the current KEK version cannot be retired: rotate first")
            entry = self._versions.get(version)
            if entry is None:
                raise KeyNotFoundError(f"KEK {self._key_id} has no version {version}")
            if entry.retired_at is None:
                entry.retired_at = self._now_iso()
                await asyncio.to_thread(self._save)
        logger.info("KEK %s version %s retired", self._key_id, version)

    async def versions(self) -> dict[int, bool]:
        if not await asyncio.to_thread(self._path.exists):
            return {}
        async with self._lock:
            await asyncio.to_thread(self._load)
        return {v.version: v.retired_at is not None for v in self._versions.values()}

    async def _ensure_loaded(self) -> None:
        if self._current:
            if time.monotonic() - self._checked_at > self._refresh_seconds:
                async with self._lock:
                    await asyncio.to_thread(self._reload_if_changed)
            return
        async with self._lock:
            if not self._current:
                await asyncio.to_thread(self._load_or_create)

    def _reload_if_changed(self) -> None:
        self._checked_at = time.monotonic()
        try:
            mtime = self._path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime != self._loaded_mtime:
            self._load()

    def _now_iso(self) -> str:
        now: datetime = self._clock.now()
        return now.isoformat()

    def _load_or_create(self) -> None:
        if self._path.exists():
            self._load()
            return
        self._versions = {1: _Version(1, secrets.token_bytes(32), self._now_iso(), None)}
        self._current = 1
        if create_private_json(self._path, self._document()):
            logger.info("created local KEK file for key %s", self._key_id)
        else:
            # Another process created it first: use theirs.
            self._load()

    def _load(self) -> None:
        mtime = self._path.stat().st_mtime_ns
        document = read_private_json(self._path)
        try:
            if document.get("format") != FILE_FORMAT:
                raise ConfigurationError(f"{self._path} is not a {FILE_FORMAT} file")
            if document["key_id"] != self._key_id:
                raise ConfigurationError(
                    f"{self._path} holds KEK {document['key_id']!r}, not {self._key_id!r}"
                )
            versions = {
                int(item["version"]): _Version(
                    int(item["version"]),
                    base64.b64decode(item["key"], validate=True),
                    str(item["created_at"]),
                    item.get("retired_at"),
                )
                for item in document["versions"]
            }
            current = int(document["current"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"{self._path} is malformed") from exc
        if current not in versions or any(len(v.key) != 32 for v in versions.values()):
            raise ConfigurationError(f"{self._path} is malformed")
        self._versions = versions
        self._current = current
        self._loaded_mtime = mtime
        self._checked_at = time.monotonic()

    def _document(self) -> JsonObject:
        return {
            "format": FILE_FORMAT,
            "key_id": self._key_id,
            "current": self._current,
            "versions": [
                {
                    "version": v.version,
                    "key": base64.b64encode(v.key).decode("ascii"),
                    "created_at": v.created_at,
                    "retired_at": v.retired_at,
                }
                for v in sorted(self._versions.values(), key=lambda v: v.version)
            ],
        }

    def _save(self) -> None:
        replace_private_json(self._path, self._document())
        self._loaded_mtime = self._path.stat().st_mtime_ns
