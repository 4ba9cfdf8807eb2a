"""One PKCS#11 session per process and token, driven from one thread (DESIGN §6).

python-pkcs11 initialises the module with `C_Initialize(NULL)`: the application promises not to
call it from several threads at once. So every call to a module goes through that module's own
single-thread executor: calls are serialised, never run on the event loop (`run` awaits them),
and one logged-in read/write session per token serves every key source and signing key of the
process. When the session dies (HSM restarted, token reinserted) the call reopens it and logs in
again, once.

The PIN comes from the environment or a file and lives in a `SecretStr`: never in a repr, a
log line or an error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from pkcs11 import exceptions as p11
from pydantic import SecretStr

from shared.crypto.errors import ConfigurationError, KeyNotFoundError

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")

# The session is gone, not the key: reopen and retry once.
_SESSION_LOST = (
    p11.SessionClosed,
    p11.SessionHandleInvalid,
    p11.DeviceRemoved,
    p11.TokenNotPresent,
    p11.UserNotLoggedIn,
    p11.ObjectHandleInvalid,
    p11.KeyHandleInvalid,
)


@dataclass(frozen=True)
class Pkcs11Config:
    """Where the keys are: module (shared library), token label and user PIN."""

    module: Path
    token_label: str
    pin: SecretStr = field(repr=False)

    def __repr__(self) -> str:
        return f"Pkcs11Config(module={str(self.module)!r}, token_label={self.token_label!r})"


class TokenSession:
    """The logged-in session with key objects cached by label and id; rebuilt when lost."""

    def __init__(self, config: Pkcs11Config, executor: ThreadPoolExecutor) -> None:
        self._config = config
        self._executor = executor
        self._session: pkcs11.Session | None = None
        self._objects: dict[tuple[str, bytes], Any] = {}

    @property
    def config(self) -> Pkcs11Config:
        return self._config

    async def run(self, operation: Callable[[TokenSession], T]) -> T:
        """`operation(self)` on the token's thread, awaited without blocking the loop."""
        return await asyncio.wrap_future(self._executor.submit(self._call, operation))

    def call(self, operation: Callable[[TokenSession], T]) -> T:
        """`operation(self)` on the token's thread, waited for (for synchronous callers)."""
        return self._executor.submit(self._call, operation).result()

    # -- on the token's thread only ---------------------------------------------------------

    @property
    def session(self) -> pkcs11.Session:
        if self._session is None:
            self._session = self._open()
        return self._session

    def find(self, object_class: pkcs11.ObjectClass, label_prefix: str) -> list[Any]:
        """Every object of `object_class` whose label starts with `label_prefix`."""
        found = []
        for obj in self.session.get_objects({pkcs11.Attribute.CLASS: object_class}):
            label = obj[pkcs11.Attribute.LABEL]
            if isinstance(label, str) and label.startswith(label_prefix):
                found.append(obj)
        return found

    def key(self, object_class: pkcs11.ObjectClass, label: str, key_id: bytes) -> Any:
        """The key object labelled `label` with CKA_ID `key_id` (cached)."""
        cached = self._objects.get((label, key_id))
        if cached is not None:
            return cached
        objects = list(
            self.session.get_objects(
                {
                    pkcs11.Attribute.CLASS: object_class,
                    pkcs11.Attribute.LABEL: label,
                    pkcs11.Attribute.ID: key_id,
                }
            )
        )
        if len(objects) != 1:
            raise KeyNotFoundError(f"no single token key {label} with id {key_id.hex()}")
        self._objects[(label, key_id)] = objects[0]
        return objects[0]

    def forget(self, label: str, key_id: bytes) -> None:
        self._objects.pop((label, key_id), None)

    def _call(self, operation: Callable[[TokenSession], T]) -> T:
        try:
            return operation(self)
        except _SESSION_LOST as error:
            logger.warning(
                "PKCS#11 session on token %s lost (%s): reopening",
                self._config.token_label,
                type(error).__name__,
            )
            self._drop()
            return operation(self)

    def _drop(self) -> None:
        self._objects.clear()
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(p11.PKCS11Error):
                session.close()

    def _open(self) -> pkcs11.Session:
        config = self._config
        try:
            lib = pkcs11.lib(str(config.module))
        except (OSError, RuntimeError) as error:
            raise ConfigurationError(f"cannot load PKCS#11 module {config.module}") from error
        try:
            token = lib.get_token(token_label=config.token_label)
        except (p11.NoSuchToken, p11.MultipleTokensReturned) as error:
            raise ConfigurationError(
                f"no single PKCS#11 token labelled {config.token_label!r}"
            ) from error
        try:
            session = token.open(rw=True, user_pin=config.pin.get_secret_value())
        except p11.UserAlreadyLoggedIn:
            # Login state is per application and token: a session of this process that is
            # still open logged in already.
            session = token.open(rw=True)
        except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange, p11.PinLocked) as error:
            # The class of the failure only: never the PIN.
            raise ConfigurationError(
                f"PKCS#11 login to token {config.token_label!r} refused ({type(error).__name__})"
            ) from None
        logger.info("PKCS#11 session opened on token %s", config.token_label)
        return session


_executors: dict[str, ThreadPoolExecutor] = {}
_sessions: dict[tuple[str, str], TokenSession] = {}
_registry_lock = threading.Lock()


def token_session(config: Pkcs11Config) -> TokenSession:
    """The process's session with `config`'s token (created on first use, opened lazily)."""
    module = str(config.module)
    with _registry_lock:
        existing = _sessions.get((module, config.token_label))
        if existing is not None:
            return existing
        executor = _executors.get(module)
        if executor is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pkcs11")
            _executors[module] = executor
        session = TokenSession(config, executor)
        _sessions[(module, config.token_label)] = session
        return session
